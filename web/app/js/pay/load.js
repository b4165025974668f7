// Loads a provider's own script from its own origin, once (never copied into this repository).
const loading = new Map();

export function loadScript(src, globalName) {
  if (globalName && window[globalName]) return Promise.resolve(window[globalName]);
  if (!loading.has(src)) {
    loading.set(src, new Promise((resolve, reject) => {
      const script = document.createElement("script");
      script.src = src;
      script.async = true;
      script.addEventListener("load", () => resolve(globalName ? window[globalName] : true));
      script.addEventListener("error", () => {
        loading.delete(src);
        reject(new Error(`could not load ${src}`));
      });
      document.head.append(script);
    }));
  }
  return loading.get(src);
}
