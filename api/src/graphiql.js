// convgraph's GraphiQL page: renders GraphiQL 3 (React 18 UMD globals) against /graphql.
//
// The token comes from the URL fragment, `/graphiql#token=<jwt>`: a fragment never leaves the
// browser, so the token stays out of server and proxy logs. It pre-fills the headers editor,
// whose JSON GraphiQL sends with every request (the schema introspection included). Headers are
// not persisted to localStorage (GraphiQL's default), so a token lives only in the URL and the
// editor.
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

  var root = ReactDOM.createRoot(document.getElementById('graphiql'));
  root.render(
    React.createElement(GraphiQL, {
      fetcher: GraphiQL.createFetcher({ url: '/graphql' }),
      defaultQuery: DEFAULT_QUERY,
      // `headers` fills the editor now; `defaultHeaders` fills every tab opened or restored later.
      headers: headers,
      defaultHeaders: headers,
      shouldPersistHeaders: false,
      defaultEditorToolsVisibility: 'headers',
    })
  );
})();
