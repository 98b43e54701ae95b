"""The access file in JSON, XML (with its schema, access.xsd) and HTML."""
