// Signs the officer out after a spell without keyboard or pointer input, so that a console left
// open on a shared workstation does not stay signed in for the rest of the 12-hour session. The
// console's own polling does not count: only a person's input does.

export const IDLE_MINUTES = 30;
const CHECK_MS = 30_000;
// The server too ends a session that no request used for 30 minutes (src/accounts). An officer
// studying one image can work that long without one, so input calls `keepAlive` (a request)
// when the last such call is this old.
const KEEP_ALIVE_MINUTES = 5;

export function watchIdle({ signedIn, signOut, keepAlive }) {
  let lastInput = Date.now();
  let lastKeepAlive = Date.now();
  const seen = () => {
    lastInput = Date.now();
    if (signedIn() && lastInput - lastKeepAlive > KEEP_ALIVE_MINUTES * 60_000) {
      lastKeepAlive = lastInput;
      keepAlive();
    }
  };
  for (const type of ["keydown", "pointerdown", "pointermove", "wheel"]) {
    window.addEventListener(type, seen, { capture: true, passive: true });
  }
  setInterval(() => {
    if (signedIn() && Date.now() - lastInput > IDLE_MINUTES * 60_000) {
      seen();
      signOut();
    }
  }, CHECK_MS);
  return { reset: seen };
}
