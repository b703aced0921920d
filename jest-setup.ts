// jsdom lacks browser APIs that @grafana/ui components touch while rendering.
import '@testing-library/jest-dom';
import { TextDecoder, TextEncoder } from 'util';

Object.assign(global, { TextDecoder, TextEncoder });

Object.defineProperty(HTMLCanvasElement.prototype, 'getContext', {
  value: () => ({ measureText: () => ({ width: 0 }), fillRect: () => {}, getImageData: () => ({ data: [] }) }),
});

class NoopObserver {
  observe() {}
  unobserve() {}
  disconnect() {}
  takeRecords() {
    return [];
  }
}
Object.assign(global, { IntersectionObserver: NoopObserver, ResizeObserver: NoopObserver });

Object.defineProperty(window, 'matchMedia', {
  writable: true,
  value: (query: string) => ({
    matches: false,
    media: query,
    onchange: null,
    addListener: () => {},
    removeListener: () => {},
    addEventListener: () => {},
    removeEventListener: () => {},
    dispatchEvent: () => false,
  }),
});
