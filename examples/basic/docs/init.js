// Swagger UI for examples/basic, over the document the route table
// writes. A file of its own: the page's Content-Security-Policy allows
// no inline script.
window.addEventListener("load", function () {
  window.ui = SwaggerUIBundle({
    url: "/openapi.json",
    dom_id: "#swagger-ui",
    deepLinking: true,
    // Tokens stay in the page's memory: never in localStorage.
    persistAuthorization: false,
    presets: [SwaggerUIBundle.presets.apis],
    layout: "BaseLayout",
    validatorUrl: "none",
  });
});
