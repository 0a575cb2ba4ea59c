"""The store: tables, migrations, engines, the unit of work and the demo data."""
