"""The aiohttp adapter: routes, thin handlers, middlewares, OpenAPI and docs."""
