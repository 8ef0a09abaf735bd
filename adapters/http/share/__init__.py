"""Share links: a public video's web page at /v/{slug}."""
