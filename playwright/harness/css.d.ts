// The harness bundles CSS files as text (harness.webpack.ts: asset/source).
declare module '*.css' {
  const css: string;
  export default css;
}
