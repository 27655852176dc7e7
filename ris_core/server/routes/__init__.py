"""The API's routes, one module per area of the library (each exports ``router``)."""
