// Starts GraphiQL on this page against the same server's /graphql. A `query` parameter in the
// page's address becomes the initial query.
(function () {
  var params = new URLSearchParams(window.location.search);
  var fetcher = GraphiQL.createFetcher({ url: new URL("/graphql", window.location.href).href });
  var root = ReactDOM.createRoot(document.getElementById("graphiql"));
  root.render(
    React.createElement(GraphiQL, {
      fetcher: fetcher,
      defaultQuery: params.get("query") || "{\n  posts(limit: 5) {\n    nodes { title author { name } commentsCount }\n  }\n}\n",
    }),
  );
})();
