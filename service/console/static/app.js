// The console's single page: the path says which view to render.

import { h, show } from "./dom.js";
import { ApiError, setApiKey } from "./graphql.js";
import { AddressError } from "./address.js";
import { renderAccounts } from "./accounts.js";
import { renderAccount } from "./account.js";
import { renderMatrix } from "./matrix.js";
import { renderAttribution } from "./attribution.js";
import { renderImpact } from "./impact.js";

const main = document.getElementById("main");
let leave = () => {};  // the current view's clean-up (its live subscriptions)

/** The API's refusal (or the address's fault), in words; with a form for a key when the API asks for one. */
export function showError(error) {
  if (error instanceof AddressError) {
    document.title = "Bad address · cx360";
    show(main, h("h1", {}, "This address cannot be shown"), h("p", { role: "alert", class: "error" }, error.message),
      h("p", {}, h("a", { href: location.pathname }, "The same page without its options")));
    return;
  }
  const message = error instanceof ApiError ? error.message : `the console failed: ${error.message}`;
  document.title = "Error · cx360";
  show(main,
    h("h1", {}, "Something went wrong"),
    h("p", { role: "alert", class: "error" }, message),
    error.unauthenticated ? keyForm() : h("p", {}, h("a", { href: location.pathname + location.search }, "Try again")));
}

function keyForm() {
  const input = h("input", { id: "api-key", type: "password", autocomplete: "off", required: true });
  return h("form", {
    class: "key", onsubmit: (event) => {
      event.preventDefault();
      setApiKey(input.value);
      route();
    },
  },
  h("label", { for: "api-key" }, "API key (kept in this tab only)"), input, h("button", { type: "submit" }, "Use this key"));
}

export function notFound(text) {
  document.title = "Not found · cx360";
  show(main, h("h1", {}, "Not found"), h("p", { role: "alert" }, text), h("p", {}, h("a", { href: "/" }, "All accounts")));
}

/** Render the view the address names, into a container of its own: a view still loading when another one
 * is asked for writes into its container, no longer on the page, and never over the newer view. */
async function route() {
  leave();
  leave = () => {};
  const view = h("div", { class: "view" });
  main.replaceChildren(view);
  const current = () => view.isConnected;
  const path = location.pathname;
  try {
    if (path === "/") {
      await renderAccounts(view, navigate);
    } else if (path === "/matrix") {
      await renderMatrix(view, navigate);
    } else if (path === "/attribution") {
      await renderAttribution(view, navigate);
    } else if (path === "/impact") {
      await renderImpact(view, navigate);
    } else if (path.startsWith("/accounts/") && path.length > "/accounts/".length) {
      const left = await renderAccount(view, decodeURIComponent(path.slice("/accounts/".length)), navigate,
        (text) => current() && notFound(text));
      if (current()) leave = left;
      else left();  // left while it loaded: its live updates stop at once
    } else {
      notFound(`The console has no page at ${path}.`);
    }
  } catch (error) {
    if (current()) showError(error);
  }
}

/** Go to a console URL without reloading (the same page renders every view). */
export function navigate(url, { replace = false } = {}) {
  if (replace) history.replaceState(null, "", url);
  else history.pushState(null, "", url);
  route();
}

// Links to console pages render in place; others (GraphiQL) load normally.
document.addEventListener("click", (event) => {
  const link = event.target.closest("a[href]");
  if (!link || event.defaultPrevented || event.button !== 0 || event.metaKey || event.ctrlKey || event.shiftKey) return;
  const url = new URL(link.href);
  if (url.origin !== location.origin || url.pathname === "/graphql") return;
  event.preventDefault();
  navigate(url.pathname + url.search);
  main.focus();
});
window.addEventListener("popstate", route);
window.addEventListener("unhandledrejection", (event) => showError(event.reason));
route();
