"""Pure business rules: no database, no HTTP. Unit-tested on their own."""
