// convgraph's GraphiQL page: renders GraphiQL 3 (React 18 UMD globals) against /graphql.
//
// The token comes from the URL fragment, `/graphiql#token=<jwt>`: a fragment never leaves the
// browser, so the token stays out of server and proxy logs. It pre-fills the headers editor,
// whose JSON GraphiQL sends with every request (the schema introspection included). Headers are
// not persisted to localStorage (GraphiQL's default), so a token lives only in the URL and the
// editor.
//
// Queries and mutations go over HTTP POST. A subscription goes over a WebSocket of its own to
// /graphql (graphql-transport-ws, convgraph-ws.js), with the headers editor's JSON as the
// connection_init payload, so its `Authorization` authenticates it; the response pane shows
// each answer the server pushes until the stop button (or the server) ends it.
(function () {
  'use strict';

  var DEFAULT_QUERY = [
    '# convgraph: conversations -> participants',
    '#   -> sessions -> segments.',
    '#',
    '# Your token goes in the Headers tab below;',
    '# /graphiql#token=<jwt> fills it in.',
    '# Docs: the book icon, top left.',
    '# Run: the pink button, or Ctrl-Enter.',
    '# A subscription (e.g. subscription {',
    '#   conversationChanged { id } }) shows',
    '# each change as it is pushed.',
    '',
    'query Conversations {',
    '  conversations(first: 5) {',
    '    totalCount',
    '    pageInfo {',
    '      hasNextPage',
    '      endCursor',
    '    }',
    '    nodes {',
    '      id',
    '      conversationStart',
    '      conversationEnd',
    '      divisionIds',
    '      participants {',
    '        id',
    '        purpose',
    '        sessions {',
    '          id',
    '          mediaType',
    '          direction',
    '          segments {',
    '            segmentType',
    '            segmentStart',
    '            segmentEnd',
    '            queueId',
    '          }',
    "          metrics {",
    "            name",
    "            value",
    "          }",
    '        }',
    '      }',
    '    }',
    '  }',
    '}',
    '',
  ].join('\n');

  function tokenFromFragment() {
    var fragment = window.location.hash.replace(/^#/, '');
    var token = new URLSearchParams(fragment).get('token');
    return token ? token.trim() : '';
  }

  var token = tokenFromFragment();
  var headers = JSON.stringify({ Authorization: 'Bearer ' + token }, null, 2);

  // A new token pasted into the address bar changes only the fragment: start over with it.
  window.addEventListener('hashchange', function () {
    var fresh = tokenFromFragment();
    if (fresh && fresh !== token) {
      window.location.reload();
    }
  });

  var httpFetcher = GraphiQL.createFetcher({ url: '/graphql' });

  // Whether GraphiQL runs a subscription: the operation named `operationName`, else the
  // document's only one.
  function isSubscription(documentAST, operationName) {
    if (!documentAST) {
      return false;
    }
    var operations = documentAST.definitions.filter(function (definition) {
      return definition.kind === 'OperationDefinition';
    });
    var chosen = operationName
      ? operations.find(function (op) {
          return op.name && op.name.value === operationName;
        })
      : operations.length === 1
        ? operations[0]
        : undefined;
    return Boolean(chosen) && chosen.operation === 'subscription';
  }

  // A subscription as an Observable, one of the results GraphiQL's fetcher contract allows: it
  // opens its socket when GraphiQL subscribes and closes it when the subscription ends.
  function subscription(params, headers) {
    return {
      subscribe: function (observer) {
        var client = ConvgraphWs.createClient({ connectionParams: headers || {} });
        var stop = client.subscribe(params, {
          next: function (result) {
            observer.next(result);
          },
          error: function (errors) {
            client.dispose();
            observer.error(errors);
          },
          complete: function () {
            client.dispose();
            observer.complete();
          },
        });
        return {
          unsubscribe: function () {
            stop();
            client.dispose();
          },
        };
      },
    };
  }

  // GraphiQL's fetcher: subscriptions over the WebSocket, everything else over HTTP.
  function fetcher(params, opts) {
    if (isSubscription(opts && opts.documentAST, params.operationName)) {
      return subscription(params, opts.headers);
    }
    return httpFetcher(params, opts);
  }

  var root = ReactDOM.createRoot(document.getElementById('graphiql'));
  root.render(
    React.createElement(GraphiQL, {
      fetcher: fetcher,
      defaultQuery: DEFAULT_QUERY,
      // `headers` fills the editor now; `defaultHeaders` fills every tab opened or restored later.
      headers: headers,
      defaultHeaders: headers,
      shouldPersistHeaders: false,
      defaultEditorToolsVisibility: 'headers',
    })
  );
})();
