// convgraph's GraphQL-over-WebSocket client, for its own pages (GraphiQL and the wallboard): the
// `graphql-transport-ws` protocol (the one of the `graphql-ws` npm client) to /graphql on the
// page's own origin, written out here so that the pages load nothing from elsewhere.
//
//   var client = ConvgraphWs.createClient({
//     connectionParams: { Authorization: 'Bearer ' + token },  // the connection_init payload
//     retry: true,                                             // reconnect when the socket drops
//     onStatus: function (state, detail) { … },                // connecting, connected, retrying, closed
//   });
//   var stop = client.subscribe({ query: …, variables: … }, { next: …, error: …, complete: … });
//
// - The socket opens when the first operation starts; `connection_init` carries
//   connectionParams, and operations go out once the server acknowledges it. Any number of
//   operations share the socket; a query or mutation answers once and completes.
// - `next` gets each payload ({data, errors}); `error` gets a list of GraphQL errors: the
//   server's, or one saying why the connection closed (`extensions.closeCode`); `complete` ends.
// - The client answers the server's pings and, once a connection is up, pings the server every
//   20 s: a connection that gives no pong within 10 s counts as dropped.
// - With `retry`, a dropped connection is opened again after a pause that doubles from 1 s to
//   30 s (with jitter) and every running operation is subscribed again, so each subscription's
//   first answer (the state now, for most roots) brings its reader up to date. Closes another try
//   cannot mend (a bad message, the token refused or expired, a duplicate id, too many inits)
//   end every operation with an error instead, retry or not.
(function () {
  'use strict';

  var PROTOCOL = 'graphql-transport-ws';

  // Close codes after which the same request would be refused again.
  var FATAL = {
    4400: 'the server received a message it does not understand',
    4401: 'the server refused the token (missing, invalid or expired)',
    4403: 'forbidden',
    4406: 'the server does not speak graphql-transport-ws',
    4409: 'an operation id was used twice',
    4429: 'too many connection_init messages',
  };

  var PING_EVERY_MS = 20000;
  var PONG_WITHIN_MS = 10000;
  var FIRST_RETRY_MS = 1000;
  var LAST_RETRY_MS = 30000;

  // ws:// or wss:// and the page's own host: /graphql.
  function endpoint() {
    var scheme = window.location.protocol === 'https:' ? 'wss:' : 'ws:';
    return scheme + '//' + window.location.host + '/graphql';
  }

  // Why a connection closed, as GraphQL errors.
  function closeErrors(code, reason) {
    var why = FATAL[code] || 'the connection to /graphql closed';
    var message = why + ' (close code ' + code + (reason ? ': ' + reason : '') + ')';
    return [{ message: message, extensions: { code: 'CONNECTION_CLOSED', closeCode: code, reason: reason || '' } }];
  }

  // The pause before reconnect attempt `attempt` (0 first): doubling, capped, with jitter.
  function backoff(attempt) {
    var ceiling = Math.min(LAST_RETRY_MS, FIRST_RETRY_MS * Math.pow(2, attempt));
    return Math.round(ceiling / 2 + (Math.random() * ceiling) / 2);
  }

  function createClient(options) {
    var connectionParams = options.connectionParams || {};
    var retry = Boolean(options.retry);
    var onStatus = options.onStatus || function () {};

    var operations = new Map(); // id -> { payload, sink }
    var nextId = 1;
    var socket = null;
    var acknowledged = false;
    var attempts = 0;
    var retryTimer = null;
    var pingTimer = null;
    var pongTimer = null;
    var disposed = false;

    function send(ws, message) {
      if (ws && ws.readyState === WebSocket.OPEN) {
        ws.send(JSON.stringify(message));
      }
    }

    function open() {
      if (socket || disposed) {
        return;
      }
      retryTimer = null;
      acknowledged = false;
      onStatus('connecting', { attempt: attempts + 1 });
      var ws;
      try {
        ws = new WebSocket(endpoint(), PROTOCOL);
      } catch (e) {
        // Refused by the browser itself (a content security policy, a bad URL): final.
        end('closed', { code: 0, reason: String(e.message), fatal: true }, [
          { message: 'could not open a WebSocket to /graphql: ' + e.message },
        ]);
        return;
      }
      socket = ws;
      ws.onopen = function () {
        send(ws, { type: 'connection_init', payload: connectionParams });
      };
      ws.onmessage = function (event) {
        if (ws === socket) {
          receive(ws, event.data);
        }
      };
      // An error event is always followed by a close event, which says what happened.
      ws.onclose = function (event) {
        if (ws === socket) {
          closed(event.code, event.reason);
        }
      };
    }

    function receive(ws, text) {
      var message;
      try {
        message = JSON.parse(text);
      } catch (e) {
        abandon(ws, 4400, 'the server sent a message that is not JSON');
        return;
      }
      var operation = message.id !== undefined ? operations.get(message.id) : undefined;
      switch (message.type) {
        case 'connection_ack':
          acknowledged = true;
          attempts = 0;
          keepAlive(ws);
          onStatus('connected', {});
          operations.forEach(function (op, id) {
            send(ws, { id: id, type: 'subscribe', payload: op.payload });
          });
          break;
        case 'ping':
          send(ws, { type: 'pong' });
          break;
        case 'pong':
          clearTimeout(pongTimer);
          pongTimer = null;
          break;
        case 'next':
          if (operation) {
            operation.sink.next(message.payload);
          }
          break;
        case 'error':
          if (operation) {
            operations.delete(message.id);
            operation.sink.error(message.payload);
          }
          break;
        case 'complete':
          if (operation) {
            operations.delete(message.id);
            operation.sink.complete();
          }
          break;
        default:
          break;
      }
    }

    // Pings the server every PING_EVERY_MS; no pong within PONG_WITHIN_MS drops the connection.
    function keepAlive(ws) {
      stopKeepAlive();
      pingTimer = setInterval(function () {
        if (pongTimer) {
          return;
        }
        send(ws, { type: 'ping' });
        pongTimer = setTimeout(function () {
          abandon(ws, 1006, 'no answer to a ping within ' + PONG_WITHIN_MS / 1000 + ' s');
        }, PONG_WITHIN_MS);
      }, PING_EVERY_MS);
    }

    function stopKeepAlive() {
      clearInterval(pingTimer);
      clearTimeout(pongTimer);
      pingTimer = null;
      pongTimer = null;
    }

    // Gives up on `ws` at once (a close handshake with a dead peer could take minutes).
    function abandon(ws, code, reason) {
      if (ws !== socket) {
        return;
      }
      ws.onmessage = null;
      ws.onclose = null;
      ws.close();
      closed(code, reason);
    }

    function closed(code, reason) {
      socket = null;
      acknowledged = false;
      stopKeepAlive();
      if (disposed) {
        return;
      }
      var fatal = Object.prototype.hasOwnProperty.call(FATAL, code);
      if (retry && !fatal) {
        var delay = backoff(attempts);
        attempts += 1;
        onStatus('retrying', { code: code, reason: reason, delay: delay });
        retryTimer = setTimeout(open, delay);
        return;
      }
      end('closed', { code: code, reason: reason, fatal: fatal }, closeErrors(code, reason));
    }

    // Reports `state` and ends every running operation with `errors`.
    function end(state, detail, errors) {
      onStatus(state, detail);
      var ended = Array.from(operations.values());
      operations.clear();
      ended.forEach(function (op) {
        op.sink.error(errors);
      });
    }

    // Starts an operation ({query, variables, operationName}); returns what stops it.
    function subscribe(payload, sink) {
      var id = String(nextId);
      nextId += 1;
      operations.set(id, { payload: payload, sink: sink });
      if (socket && acknowledged) {
        send(socket, { id: id, type: 'subscribe', payload: payload });
      } else if (!socket && !retryTimer) {
        open();
      }
      return function stop() {
        if (operations.delete(id) && socket && acknowledged) {
          send(socket, { id: id, type: 'complete' });
        }
      };
    }

    // Stops everything and closes the socket; the client is not used again.
    function dispose() {
      disposed = true;
      clearTimeout(retryTimer);
      stopKeepAlive();
      operations.clear();
      if (socket) {
        var ws = socket;
        socket = null;
        ws.close(1000, 'Normal Closure');
      }
    }

    return { subscribe: subscribe, dispose: dispose };
  }

  window.ConvgraphWs = { createClient: createClient, endpoint: endpoint };
})();
