"""The app database: schema, migrations and one repository per kind of record."""
