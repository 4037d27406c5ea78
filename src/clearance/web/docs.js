// The API docs at /docs: Swagger UI (vendored, same origin) over /openapi.json. A file of
// its own, because the Content-Security-Policy runs no inline script.
/* global SwaggerUIBundle */
window.addEventListener("DOMContentLoaded", () => {
  SwaggerUIBundle({
    url: "/openapi.json",
    dom_id: "#swagger-ui",
    presets: [SwaggerUIBundle.presets.apis],
    layout: "BaseLayout",
    deepLinking: true,
    validatorUrl: null, // the default asks a validator on another host
  });
});
