/*
 * Redoc 2.x always renders "API docs by Redocly" with <img src="https://cdn.redoc.ly/redoc/logo-mini.svg">
 * (no option turns it off; `hideLogo` is only in its config schema). Nothing on our pages may reach
 * another host, so this file, loaded before the bundle, rewrites that one image source to an empty
 * data: URL: it fails to decode, Redoc's own onError hides the image, and no request is ever made.
 */
(function () {
  "use strict";
  var REMOTE = /^https?:\/\/cdn\.redoc\.ly\//;
  var EMPTY = "data:,";
  var setAttribute = Element.prototype.setAttribute;
  Element.prototype.setAttribute = function (name, value) {
    if (this instanceof HTMLImageElement && String(name).toLowerCase() === "src" && REMOTE.test(String(value))) {
      value = EMPTY;
    }
    return setAttribute.call(this, name, value);
  };
  var src = Object.getOwnPropertyDescriptor(HTMLImageElement.prototype, "src");
  Object.defineProperty(HTMLImageElement.prototype, "src", {
    configurable: true,
    enumerable: src.enumerable,
    get: src.get,
    set: function (value) {
      src.set.call(this, REMOTE.test(String(value)) ? EMPTY : value);
    },
  });
})();
