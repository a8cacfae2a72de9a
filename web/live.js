// Live updates: the server's event stream when it is open, polling while it is not (a proxy
// that buffers or drops event streams, a server restart), with a new try at the stream now and
// then. The officer sees which of the two is in use.

const POLL_MS = 10_000;
const RETRY_STREAM_MS = 30_000;

export function startLive({ changed, poll, status }) {
  let source = null;
  let pollTimer = null;
  let retryTimer = null;
  let stopped = false;

  function polling() {
    if (pollTimer || stopped) return;
    status(`Updating every ${POLL_MS / 1000} s`, "polling");
    pollTimer = setInterval(poll, POLL_MS);
    retryTimer = setTimeout(connect, RETRY_STREAM_MS);
  }

  function connect() {
    clearTimeout(retryTimer);
    if (stopped || typeof EventSource === "undefined") return polling();
    source?.close();
    source = new EventSource("/api/v1/events");
    source.addEventListener("open", () => {
      clearTimeout(retryTimer);
      clearInterval(pollTimer);
      pollTimer = null;
      status("Live", "live");
      // Whatever happened while the stream was down.
      poll();
    });
    source.addEventListener("scan", (event) => {
      let data;
      try {
        data = JSON.parse(event.data);
      } catch {
        return;
      }
      changed(data);
    });
    // The server missed events for this stream: look at everything again.
    source.addEventListener("resync", poll);
    source.addEventListener("error", () => {
      // The browser reconnects by itself unless the server refused the stream outright; poll
      // meanwhile either way, so nothing is missed.
      if (source.readyState === EventSource.CLOSED) source = null;
      polling();
    });
  }

  status("Connecting…", "connecting");
  connect();
  return {
    stop() {
      stopped = true;
      source?.close();
      clearInterval(pollTimer);
      clearTimeout(retryTimer);
    },
  };
}
