// Inline SVG shapes, so a verdict or a state reads by its shape as well
// as its word and colour: a circle with a tick (PASS), an octagon with a
// cross (FAIL), a triangle with a bar (ERROR), a square (ABORTED).
const SHAPES = {
  PASS: '<circle cx="12" cy="12" r="10.5" fill="none" stroke="currentColor" stroke-width="2.5"/>' +
    '<path d="M6.5 12.5l3.5 3.5 7.5-8" fill="none" stroke="currentColor" stroke-width="3"/>',
  FAIL: '<path d="M8 1.5h8l6.5 6.5v8l-6.5 6.5h-8l-6.5-6.5v-8z" fill="none" stroke="currentColor" stroke-width="2.5"/>' +
    '<path d="M7.5 7.5l9 9M16.5 7.5l-9 9" stroke="currentColor" stroke-width="3"/>',
  ERROR: '<path d="M12 2l10.5 19h-21z" fill="none" stroke="currentColor" stroke-width="2.5" stroke-linejoin="round"/>' +
    '<path d="M12 8.5v6.5" stroke="currentColor" stroke-width="3"/><circle cx="12" cy="18" r="1.6" fill="currentColor"/>',
  ABORTED: '<rect x="3" y="3" width="18" height="18" fill="none" stroke="currentColor" stroke-width="2.5"/>' +
    '<path d="M7 12h10" stroke="currentColor" stroke-width="3"/>',
  RUNNING: '<circle cx="12" cy="12" r="10" fill="none" stroke="currentColor" stroke-width="2.5" stroke-dasharray="4 3"/>' +
    '<path d="M10 7.5l6 4.5-6 4.5z" fill="currentColor"/>',
  IDLE: '<rect x="3" y="5" width="18" height="14" rx="2" fill="none" stroke="currentColor" stroke-width="2"/>' +
    '<path d="M6 8v8M9 8v8M11 8v8M14 8v8M16 8v8M18 8v8" stroke="currentColor" stroke-width="1.5"/>',
  OK: '<path d="M5 12.5l4.5 4.5 9.5-10" fill="none" stroke="currentColor" stroke-width="3"/>',
  NO: '<path d="M6 6l12 12M18 6l-12 12" stroke="currentColor" stroke-width="3"/>',
  WARN: '<path d="M12 3l9.5 17h-19z" fill="none" stroke="currentColor" stroke-width="2.5" stroke-linejoin="round"/>' +
    '<path d="M12 9v5" stroke="currentColor" stroke-width="2.5"/><circle cx="12" cy="17" r="1.4" fill="currentColor"/>',
};
SHAPES.TIMEOUT = SHAPES.ERROR;

export function icon(kind, cls = 'icon') {
  const span = document.createElement('span');
  span.className = cls;
  span.setAttribute('aria-hidden', 'true');
  span.innerHTML = `<svg viewBox="0 0 24 24" width="100%" height="100%">${SHAPES[kind] || SHAPES.IDLE}</svg>`;
  return span;
}
