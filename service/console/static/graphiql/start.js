// GraphiQL on this service's /graphql, subscriptions over its WebSocket; the query and variables
// are kept in the URL so that a query can be shared. A key goes in the Headers tab:
// {"authorization": "Bearer <API key>"}.

const parameters = Object.fromEntries(new URLSearchParams(location.search));
const endpoint = new URL("/graphql", location.href);
const subscriptions = new URL(endpoint);
subscriptions.protocol = endpoint.protocol === "https:" ? "wss:" : "ws:";

function keepInUrl(name, value) {
  if (value) parameters[name] = value;
  else delete parameters[name];
  history.replaceState(null, "", `?${new URLSearchParams(parameters)}`);
}

const fetcher = GraphiQL.createFetcher({ url: endpoint.href, subscriptionUrl: subscriptions.href });
const explorer = GraphiQLPluginExplorer.explorerPlugin();

function CX360GraphiQL() {
  return React.createElement(GraphiQL, {
    fetcher,
    plugins: [explorer],
    defaultEditorToolsVisibility: true,
    defaultQuery: "# The accounts that most need attention\n{\n  accounts(first: 5, orderBy: HEALTH_ASC) {\n" +
      "    edges { node { id name health { score } findings { rule summary } } }\n  }\n}\n",
    query: parameters.q,  // not `query`: a GET of /graphql with `query` runs it
    variables: parameters.variables,
    onEditQuery: (value) => keepInUrl("q", value),
    onEditVariables: (value) => keepInUrl("variables", value),
    isHeadersEditorEnabled: true,
    shouldPersistHeaders: true,
    inputValueDeprecation: true,
  });
}

ReactDOM.createRoot(document.getElementById("graphiql")).render(React.createElement(CX360GraphiQL));
