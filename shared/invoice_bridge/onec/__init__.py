"""1C:Accounting 3.0 through its standard OData interface."""
