// Progressive enhancement for the Kalitka panel. Every page works without it: links lead to
// plain pages, and forms post as usual. Served as a file because the CSP forbids inline script.
'use strict';

function modal(dialog) {
  if (typeof dialog.showModal !== 'function') return;
  // Reopening as modal must not look like closing (see the secret's close handler below).
  dialog.removeAttribute('open');
  dialog.showModal();
  const first = dialog.querySelector('input:not([type=hidden]):not([readonly])');
  if (first) first.focus();
}

document.addEventListener('click', (event) => {
  const target = event.target instanceof Element ? event.target : null;
  if (!target) return;

  // "Create token" opens its dialog instead of the fallback page.
  const opener = target.closest('[data-open-dialog]');
  if (opener) {
    const dialog = document.getElementById(opener.getAttribute('data-open-dialog'));
    if (dialog && typeof dialog.showModal === 'function') {
      event.preventDefault();
      modal(dialog);
    }
    return;
  }

  // "Copy" puts the secret on the clipboard, then closes the dialog: back to the list.
  const copy = target.closest('[data-copy]');
  if (copy) {
    event.preventDefault();
    const field = document.getElementById(copy.getAttribute('data-copy'));
    const dialog = copy.closest('dialog');
    navigator.clipboard.writeText(field.value).then(
      () => dialog.close(),
      () => {
        // No clipboard (permission refused): let the user copy by hand.
        field.type = 'text';
        field.select();
        const failed = dialog.querySelector('#copy-failed');
        if (failed) failed.hidden = false;
      },
    );
  }
});

for (const button of document.querySelectorAll('[data-copy][hidden]')) {
  if (navigator.clipboard) button.hidden = false;
}

// Dialogs the server sent open (a label error, a new token) become modal.
for (const dialog of document.querySelectorAll('dialog[data-modal][open]')) modal(dialog);

// A shown secret leaves the page when its dialog closes, whichever way it closes.
for (const dialog of document.querySelectorAll('dialog[data-secret]')) {
  dialog.addEventListener('close', () => {
    if (dialog.open) return; // a close event queued by reopening it as modal, not a real close
    for (const input of dialog.querySelectorAll('input')) input.value = '';
    dialog.remove();
  });
}

// The new network form carries every controller's settings: only the chosen one's are shown and sent.
for (const select of document.querySelectorAll('select[name=controller]')) {
  const form = select.form;
  const show = () => {
    for (const set of form.querySelectorAll('fieldset[data-controller]')) {
      const on = set.getAttribute('data-controller') === select.value;
      set.hidden = !on;
      set.disabled = !on;
      for (const box of set.querySelectorAll('textarea')) box.disabled = !on;
    }
  };
  select.addEventListener('change', show);
  show();
}
