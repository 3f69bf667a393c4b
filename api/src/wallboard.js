// convgraph's wallboard (/wallboard): one row per queue with what it is doing now
// (queueObservations: waiting, the longest wait, alerting, interacting, agents on queue) and the
// numbers of the day (aggregateChanged grouped by queueId: offered, answered, abandoned, service
// level, average speed of answer, average handle time), kept current by subscriptions over one
// WebSocket (convgraph-ws.js). Nothing is polled: the server pushes each change, and the page
// only ticks the longest waits along between pushes.
//
// The URL fragment configures it (a fragment never leaves the browser):
//   token=<jwt>          required; sent only in connection_init
//   queues=q-1,q-2       optional: exactly these queues, in this order. Without it: every queue
//                        the token sees in the `queues` lookup, and every other queue as soon as
//                        it has numbers that day
//   day=YYYY-MM-DD       optional: that day's numbers instead of today's (observations are
//                        always now)
// "Today" is the browser's local day, from local midnight to the next; at midnight the board
// moves on to the new day by itself.
(function () {
  'use strict';

  var AGGREGATE_METRICS = ['nOffered', 'tAnswered', 'tAbandon', 'oServiceLevel', 'tHandle'];

  var TODAY =
    'subscription WallboardDay($interval: String!, $queueIds: [String!], $metrics: [String!]!) {' +
    ' aggregateChanged(interval: $interval, groupBy: ["queueId"], filter: {queueIds: $queueIds},' +
    ' metrics: $metrics) { group data { metrics { metric stats { count sum numerator denominator } } } } }';

  var NOW =
    'subscription WallboardNow($queueIds: [String!]!) { queueObservations(queueIds: $queueIds) {' +
    ' group data { metric stats { count oldest } } } }';

  var QUEUES =
    'query WallboardQueues($after: String) { queues(first: 500, after: $after) {' +
    ' pageInfo { hasNextPage endCursor } edges { node { queueId name } } } }';

  // The most pages of the queue lookup read (500 queues a page).
  var QUEUE_PAGES = 20;

  // The table's columns after the queue name, in order: `group` heads them, `figure` is the key
  // of figures() that fills them.
  var COLUMNS = [
    { figure: 'waiting', group: 'Now', label: 'Waiting' },
    { figure: 'longestWait', group: 'Now', label: 'Longest wait' },
    { figure: 'alerting', group: 'Now', label: 'Alerting' },
    { figure: 'interacting', group: 'Now', label: 'Interacting' },
    { figure: 'onQueue', group: 'Now', label: 'Agents on queue' },
    { figure: 'offered', group: 'Day', label: 'Offered' },
    { figure: 'answered', group: 'Day', label: 'Answered' },
    { figure: 'abandoned', group: 'Day', label: 'Abandoned' },
    { figure: 'serviceLevel', group: 'Day', label: 'Service level' },
    { figure: 'averageAnswer', group: 'Day', label: 'Avg answer' },
    { figure: 'averageHandle', group: 'Day', label: 'Avg handle' },
  ];

  var NONE = '—';

  var elements = {
    day: document.getElementById('day'),
    status: document.getElementById('status'),
    problem: document.getElementById('problem'),
    main: document.querySelector('main'),
    board: document.getElementById('board'),
    rows: document.getElementById('queues'),
    empty: document.getElementById('empty'),
    updated: document.getElementById('updated'),
  };

  var state = {
    // id -> name (null until the lookup names it), in the order the fragment gave, if it did.
    queues: new Map(),
    fixed: false,
    // Whether the fragment chose the day (else today, moving on at midnight).
    fixedDay: false,
    // The day's interval: {start, end, text}.
    interval: null,
    // queue id -> what queueObservations said last.
    now: new Map(),
    // queue id -> what aggregateChanged said last.
    day: new Map(),
    // source -> the message of its current problem.
    problems: new Map(),
    rows: new Map(),
    total: null,
  };

  // ---- Settings from the fragment -------------------------------------------------------

  function settings() {
    var params = new URLSearchParams(window.location.hash.replace(/^#/, ''));
    var list = function (text) {
      return (text || '')
        .split(',')
        .map(function (s) {
          return s.trim();
        })
        .filter(Boolean);
    };
    return {
      token: (params.get('token') || '').trim(),
      queues: list(params.get('queues')),
      day: (params.get('day') || '').trim(),
    };
  }

  // The local day `text` (YYYY-MM-DD) names, or today; null when `text` names none.
  function chosenDay(text) {
    if (!text) {
      var now = new Date();
      return new Date(now.getFullYear(), now.getMonth(), now.getDate());
    }
    var match = /^(\d{4})-(\d{2})-(\d{2})$/.exec(text);
    if (!match) {
      return null;
    }
    var day = new Date(Number(match[1]), Number(match[2]) - 1, Number(match[3]));
    return day.getDate() === Number(match[3]) ? day : null;
  }

  // From the local midnight starting `day` to the next, as ISO-8601 `start/end` in UTC.
  function interval(day) {
    var end = new Date(day.getFullYear(), day.getMonth(), day.getDate() + 1);
    return { start: day, end: end, text: day.toISOString() + '/' + end.toISOString() };
  }

  // ---- Formatting -------------------------------------------------------------------------

  // Milliseconds as m:ss, h:mm:ss from an hour on, and days and hours from a day on.
  function duration(ms) {
    var seconds = Math.max(0, Math.round(ms / 1000));
    var d = Math.floor(seconds / 86400);
    var h = Math.floor((seconds % 86400) / 3600);
    var m = Math.floor((seconds % 3600) / 60);
    var s = seconds % 60;
    var two = function (n) {
      return (n < 10 ? '0' : '') + n;
    };
    if (d > 0) {
      return d + ' d ' + h + ' h';
    }
    return h > 0 ? h + ':' + two(m) + ':' + two(s) : m + ':' + two(s);
  }

  function describe(errors) {
    return (Array.isArray(errors) ? errors : [errors])
      .map(function (error) {
        var code = error && error.extensions && error.extensions.code;
        return (error && error.message ? error.message : String(error)) + (code ? ' (' + code + ')' : '');
      })
      .join('\n');
  }

  // ---- What the server says, folded per queue --------------------------------------------

  function blankNow() {
    return { waiting: 0, oldestWaiting: null, alerting: 0, interacting: 0, onQueue: 0, agentsKnown: false };
  }

  // queueObservations' results (one per queue and media type) summed per queue.
  function foldNow(results) {
    var byQueue = new Map();
    results.forEach(function (result) {
      var id = result.group && result.group.queueId;
      if (!id) {
        return;
      }
      var queue = byQueue.get(id) || blankNow();
      byQueue.set(id, queue);
      result.data.forEach(function (observed) {
        var count = observed.stats.count || 0;
        switch (observed.metric) {
          case 'oWaiting':
            queue.waiting += count;
            if (observed.stats.oldest) {
              var oldest = Date.parse(observed.stats.oldest);
              queue.oldestWaiting = queue.oldestWaiting === null ? oldest : Math.min(queue.oldestWaiting, oldest);
            }
            break;
          case 'oAlerting':
            queue.alerting += count;
            break;
          case 'oInteracting':
            queue.interacting += count;
            break;
          case 'oOnQueueUsers':
            queue.onQueue += count;
            queue.agentsKnown = true;
            break;
          case 'oUserPresences':
            queue.agentsKnown = true;
            break;
          default:
            break;
        }
      });
    });
    return byQueue;
  }

  function blankDay() {
    return {
      offered: 0,
      answered: 0,
      answeredMs: 0,
      abandoned: 0,
      handled: 0,
      handleMs: 0,
      withinTarget: 0,
      serviceLevelOf: 0,
    };
  }

  // aggregateChanged's results (one per queue) with their buckets summed.
  function foldDay(results) {
    var byQueue = new Map();
    results.forEach(function (result) {
      var id = result.group && result.group.queueId;
      if (!id) {
        return;
      }
      var queue = byQueue.get(id) || blankDay();
      byQueue.set(id, queue);
      result.data.forEach(function (bucket) {
        bucket.metrics.forEach(function (m) {
          var stats = m.stats;
          switch (m.metric) {
            case 'nOffered':
              queue.offered += stats.count || 0;
              break;
            case 'tAnswered':
              queue.answered += stats.count || 0;
              queue.answeredMs += stats.sum || 0;
              break;
            case 'tAbandon':
              queue.abandoned += stats.count || 0;
              break;
            case 'tHandle':
              queue.handled += stats.count || 0;
              queue.handleMs += stats.sum || 0;
              break;
            case 'oServiceLevel':
              queue.withinTarget += stats.numerator || 0;
              queue.serviceLevelOf += stats.denominator || 0;
              break;
            default:
              break;
          }
        });
      });
    });
    return byQueue;
  }

  // The text of every column for one queue (or the total), at `now` (ms).
  function figures(observed, day, now) {
    return {
      waiting: String(observed.waiting),
      longestWait: observed.oldestWaiting === null ? NONE : duration(now - observed.oldestWaiting),
      alerting: String(observed.alerting),
      interacting: String(observed.interacting),
      onQueue: observed.agentsKnown ? String(observed.onQueue) : NONE,
      offered: String(day.offered),
      answered: String(day.answered),
      abandoned: String(day.abandoned),
      serviceLevel: day.serviceLevelOf > 0 ? Math.round((100 * day.withinTarget) / day.serviceLevelOf) + ' %' : NONE,
      averageAnswer: day.answered > 0 ? duration(day.answeredMs / day.answered) : NONE,
      averageHandle: day.handled > 0 ? duration(day.handleMs / day.handled) : NONE,
    };
  }

  // The sums over every queue shown. Agents on queue are left out: an agent of several queues
  // would count once in each.
  function totals(ids) {
    var observed = blankNow();
    var day = blankDay();
    ids.forEach(function (id) {
      var now = state.now.get(id);
      if (now) {
        observed.waiting += now.waiting;
        observed.alerting += now.alerting;
        observed.interacting += now.interacting;
        if (now.oldestWaiting !== null) {
          observed.oldestWaiting =
            observed.oldestWaiting === null ? now.oldestWaiting : Math.min(observed.oldestWaiting, now.oldestWaiting);
        }
      }
      var today = state.day.get(id);
      if (today) {
        Object.keys(day).forEach(function (key) {
          day[key] += today[key];
        });
      }
    });
    return { observed: observed, day: day };
  }

  // ---- The table --------------------------------------------------------------------------

  function cell(tag, text, className) {
    var element = document.createElement(tag);
    element.textContent = text;
    if (className) {
      element.className = className;
    }
    return element;
  }

  function buildHead() {
    var head = elements.board.tHead;
    var groups = document.createElement('tr');
    groups.appendChild(cell('td', ''));
    var columns = document.createElement('tr');
    var queue = cell('th', 'Queue');
    queue.scope = 'col';
    columns.appendChild(queue);
    COLUMNS.forEach(function (column, i) {
      var first = i === 0 || COLUMNS[i - 1].group !== column.group;
      if (first) {
        var span = COLUMNS.filter(function (c) {
          return c.group === column.group;
        }).length;
        var title = column.group === 'Day' ? (state.fixedDay ? 'That day' : 'Today') : 'Now';
        var group = cell('th', title, 'group-start');
        group.scope = 'colgroup';
        group.colSpan = span;
        group.dataset.group = column.group;
        groups.appendChild(group);
      }
      var th = cell('th', column.label, first ? 'group-start' : '');
      th.scope = 'col';
      columns.appendChild(th);
    });
    head.appendChild(groups);
    head.appendChild(columns);
  }

  // A row: the queue's name as its header, then a cell per column, each named by data-figure.
  function buildRow(label) {
    var row = document.createElement('tr');
    var header = cell('th', label);
    header.scope = 'row';
    row.appendChild(header);
    COLUMNS.forEach(function (column, i) {
      var td = cell('td', '', i === 0 || COLUMNS[i - 1].group !== column.group ? 'group-start' : '');
      td.dataset.figure = column.figure;
      row.appendChild(td);
    });
    return row;
  }

  function fill(row, values) {
    Array.prototype.forEach.call(row.querySelectorAll('td[data-figure]'), function (td) {
      var text = values[td.dataset.figure];
      if (td.textContent !== text) {
        td.textContent = text;
      }
      td.dataset.busy = String(td.dataset.figure === 'waiting' && text !== '0');
    });
  }

  // The queue's name from the lookup, else its id; the id is the header's tooltip.
  function name(row, id) {
    var header = row.firstElementChild;
    var text = state.queues.get(id) || id;
    if (header.textContent !== text) {
      header.textContent = text;
    }
    header.title = id;
  }

  // The queues in the order they show: the fragment's, or by name, then id.
  function orderedIds() {
    var ids = Array.from(state.queues.keys());
    if (state.fixed) {
      return ids;
    }
    var key = function (id) {
      return state.queues.get(id) || id;
    };
    return ids.sort(function (a, b) {
      return key(a).localeCompare(key(b), undefined, { numeric: true }) || a.localeCompare(b);
    });
  }

  function render() {
    var now = Date.now();
    var ids = orderedIds();
    ids.forEach(function (id, i) {
      var row = state.rows.get(id);
      if (!row) {
        row = buildRow(id);
        row.dataset.queue = id;
        state.rows.set(id, row);
      }
      name(row, id);
      fill(row, figures(state.now.get(id) || blankNow(), state.day.get(id) || blankDay(), now));
      // Rows are created once and only moved when the order changes.
      if (elements.rows.children[i] !== row) {
        elements.rows.insertBefore(row, elements.rows.children[i] || null);
      }
    });
    if (!state.total) {
      state.total = buildRow('All queues');
      state.total.dataset.total = 'true';
      elements.board.tFoot.appendChild(state.total);
    }
    var sum = totals(ids);
    var total = figures(sum.observed, sum.day, now);
    total.onQueue = NONE;
    fill(state.total, total);
    elements.empty.hidden = ids.length > 0;
  }

  // ---- Status and problems ----------------------------------------------------------------

  function setStatus(connection, text) {
    elements.status.dataset.state = connection;
    document.body.dataset.connection = connection;
    elements.status.textContent = text;
  }

  function setProblem(source, message) {
    if (message) {
      state.problems.set(source, message);
    } else {
      state.problems.delete(source);
    }
    var text = Array.from(state.problems.values()).join('\n');
    elements.problem.textContent = text;
    elements.problem.hidden = text === '';
  }

  function onStatus(connection, detail) {
    switch (connection) {
      case 'connecting':
        setStatus('connecting', detail.attempt > 1 ? 'Connecting (attempt ' + detail.attempt + ')…' : 'Connecting…');
        break;
      case 'connected':
        setStatus('connected', 'Live');
        setProblem('connection', null);
        break;
      case 'retrying':
        setStatus(
          'retrying',
          'Connection lost (' + detail.code + '); retrying in ' + Math.ceil(detail.delay / 1000) + ' s'
        );
        break;
      case 'closed':
        setStatus('closed', 'Disconnected');
        halt(closedProblem(detail.code, detail.reason));
        break;
      default:
        break;
    }
  }

  // Stops showing numbers, which will not change again and must not look live, and says why.
  function halt(problem) {
    elements.main.hidden = true;
    elements.updated.hidden = true;
    setProblem('connection', problem);
  }

  // What to tell about a connection that will not be opened again.
  function closedProblem(code, reason) {
    if (code === 4401) {
      return (
        'The server refused the token (4401: ' +
        (reason || 'Unauthorized') +
        '). Open this page with a valid one: /wallboard#token=<jwt>.'
      );
    }
    if (code === 0) {
      return 'The browser could not open a WebSocket to /graphql: ' + reason;
    }
    return 'The server closed the connection (' + code + (reason ? ': ' + reason : '') + ').';
  }

  // A sink for one operation: its data goes to `apply`, its errors to the problems of `source`.
  function sink(source, apply) {
    return {
      next: function (payload) {
        setProblem(source, payload.errors && payload.errors.length ? describe(payload.errors) : null);
        if (payload.data) {
          apply(payload.data);
          elements.updated.textContent = 'Last change ' + new Date().toLocaleTimeString();
          render();
        }
      },
      error: function (errors) {
        var closed = errors && errors[0] && errors[0].extensions && errors[0].extensions.code === 'CONNECTION_CLOSED';
        if (!closed) {
          setProblem(source, describe(errors));
        }
      },
      complete: function () {},
    };
  }

  // ---- The subscriptions ------------------------------------------------------------------

  var client = null;
  var observing = { key: null, stop: null };
  var watching = { stop: null, timer: null };

  function addQueue(id, label) {
    if (!state.queues.has(id)) {
      if (state.fixed) {
        return false;
      }
      state.queues.set(id, label || null);
      return true;
    }
    if (label && state.queues.get(id) !== label) {
      state.queues.set(id, label);
    }
    return false;
  }

  // Subscribes to the observations of the queues shown, again whenever they change.
  function observe() {
    var ids = Array.from(state.queues.keys()).sort();
    var key = ids.join('\n');
    if (key === observing.key) {
      return;
    }
    if (observing.stop) {
      observing.stop();
    }
    observing.key = key;
    observing.stop = null;
    if (ids.length === 0) {
      return;
    }
    observing.stop = client.subscribe(
      { query: NOW, variables: { queueIds: ids } },
      sink('now', function (data) {
        state.now = foldNow(data.queueObservations || []);
      })
    );
  }

  // Subscribes to the numbers of the chosen day; for today, again at each local midnight.
  function watchDay(day) {
    if (watching.stop) {
      watching.stop();
    }
    clearTimeout(watching.timer);
    state.interval = interval(day);
    state.day = new Map();
    elements.board.dataset.interval = state.interval.text;
    elements.day.textContent =
      day.toLocaleDateString(undefined, { weekday: 'long', year: 'numeric', month: 'long', day: 'numeric' }) +
      ' (' + Intl.DateTimeFormat().resolvedOptions().timeZone + ')';
    var variables = {
      interval: state.interval.text,
      queueIds: state.fixed ? Array.from(state.queues.keys()) : null,
      metrics: AGGREGATE_METRICS,
    };
    watching.stop = client.subscribe(
      { query: TODAY, variables: variables },
      sink('day', function (data) {
        state.day = foldDay(data.aggregateChanged || []);
        var grew = false;
        state.day.forEach(function (_, id) {
          grew = addQueue(id, null) || grew;
        });
        if (grew) {
          observe();
        }
      })
    );
    if (!state.fixedDay) {
      watching.timer = setTimeout(function () {
        watchDay(chosenDay(''));
      }, state.interval.end.getTime() - Date.now() + 1000);
    }
    render();
  }

  // Names the queues from the `queues` lookup, page by page; adds them unless the fragment chose.
  function lookUpQueues(after, page) {
    client.subscribe(
      { query: QUEUES, variables: { after: after } },
      sink('queues', function (data) {
        var queues = data.queues;
        var grew = false;
        queues.edges.forEach(function (edge) {
          grew = addQueue(edge.node.queueId, edge.node.name) || grew;
        });
        if (grew) {
          observe();
        }
        if (queues.pageInfo.hasNextPage && page + 1 < QUEUE_PAGES) {
          lookUpQueues(queues.pageInfo.endCursor, page + 1);
        }
      })
    );
  }

  function start() {
    var chosen = settings();
    // A new token or other settings pasted into the address bar change only the fragment.
    window.addEventListener('hashchange', function () {
      window.location.reload();
    });
    if (!chosen.token) {
      setStatus('stopped', 'Not connected');
      halt(
        'No token. Open this page as /wallboard#token=<jwt> (convgraph demo prints such a link; ' +
          'convgraph token mints one). The token stays in the browser: a URL fragment is never sent.'
      );
      return;
    }
    var day = chosenDay(chosen.day);
    if (!day) {
      setStatus('stopped', 'Not connected');
      halt('day=' + chosen.day + ' is not a date: write it as YYYY-MM-DD.');
      return;
    }
    state.fixed = chosen.queues.length > 0;
    state.fixedDay = Boolean(chosen.day);
    chosen.queues.forEach(function (id) {
      state.queues.set(id, null);
    });
    buildHead();
    client = window.ConvgraphWs.createClient({
      connectionParams: { Authorization: 'Bearer ' + chosen.token },
      retry: true,
      onStatus: onStatus,
    });
    lookUpQueues(null, 0);
    watchDay(day);
    observe();
    // Only the longest waits move between pushes: tick them along.
    setInterval(render, 1000);
  }

  start();
})();
