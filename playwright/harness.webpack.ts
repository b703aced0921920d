// Bundles the editor harness page (React and @grafana/ui included) for the
// browser tests; output in playwright/.harness (not committed).
import path from 'path';
import type { Configuration } from 'webpack';

const config: Configuration = {
  mode: 'development',
  devtool: false,
  context: path.resolve(__dirname, '..'),
  entry: './playwright/harness/index.tsx',
  output: { path: path.resolve(__dirname, '.harness'), filename: 'harness.js', clean: true },
  resolve: { extensions: ['.js', '.jsx', '.ts', '.tsx', '.mjs'] },
  module: {
    rules: [
      // Some of @grafana/ui's dependencies import ES modules without extensions.
      { test: /\.m?js$/, resolve: { fullySpecified: false } },
      // @grafana/ui's .mjs files import CommonJS packages' default exports
      // (react-custom-scrollbars-2 in the Table): use the __esModule interop
      // that Grafana's own build gives them, not strict .mjs semantics.
      { test: /\.mjs$/, include: /node_modules/, type: 'javascript/auto' },
      {
        test: /\.[tj]sx?$/,
        exclude: /node_modules/,
        use: {
          loader: 'swc-loader',
          options: { jsc: { target: 'es2018', parser: { syntax: 'typescript', tsx: true }, transform: { react: { runtime: 'automatic' } } } },
        },
      },
      { test: /\.css$/, type: 'asset/source' },
      { test: /\.(svg|png|woff2?)$/, type: 'asset/inline' },
    ],
  },
  performance: { hints: false },
};

export default config;
