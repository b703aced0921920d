// @grafana/ui's Icon fetches SVGs over the network; tests render a plain <svg>.
import React from 'react';

export default function InlineSVG({ src, ...rest }: { src: string }) {
  return <svg id={src} {...rest} />;
}
