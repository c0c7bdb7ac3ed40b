"""Loaded by ``datasette serve --plugins-dir`` (``newsarchive serve``): the hooks live in
:mod:`archive.web.plugin`; re-exporting them here registers them with Datasette."""

from archive.web.plugin import (  # noqa: F401
    asgi_wrapper,
    extra_template_vars,
    handle_exception,
    permission_allowed,
    prepare_jinja2_environment,
    prepare_connection,
    register_routes,
    render_cell,
    startup,
)
