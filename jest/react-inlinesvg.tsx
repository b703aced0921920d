// @grafana/ui's Icon fetches SVGs over the network; tests render a plain <svg>.
import React from 'react';

export default function InlineSVG({ src, className }: { src: string; className?: string }) {
  return <svg id={src} className={className} />;
}
