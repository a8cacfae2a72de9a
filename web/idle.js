// Signs the officer out after a spell without keyboard or pointer input, so that a console left
// open on a shared workstation does not stay signed in for the rest of the 12-hour session. The
// console's own polling does not count: only a person's input does.

export const IDLE_MINUTES = 30;
const CHECK_MS = 30_000;

export function watchIdle({ signedIn, signOut }) {
  let lastInput = Date.now();
  const seen = () => (lastInput = Date.now());
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
