// Builds the front end into dist/ the way @grafana/create-plugin does: an AMD
// module with Grafana's shared libraries as externals, compiled by swc.
import CopyWebpackPlugin from 'copy-webpack-plugin';
import fs from 'fs';
import path from 'path';
import type { Configuration } from 'webpack';

const root = __dirname;
const dist = path.resolve(root, 'dist');
const pluginJson = JSON.parse(fs.readFileSync(path.join(root, 'plugin.json'), 'utf8'));
const packageJson = JSON.parse(fs.readFileSync(path.join(root, 'package.json'), 'utf8'));

const config = (env: Record<string, unknown>): Configuration => ({
  context: root,
  mode: env.production ? 'production' : 'development',
  devtool: env.production ? 'source-map' : 'eval-source-map',
  entry: { module: './src/module.ts' },
  externals: [
    // Grafana provides these at run time; bundling them would break the plugin.
    { 'amd-module': 'module' },
    'lodash',
    'jquery',
    'moment',
    'slate',
    'emotion',
    '@emotion/react',
    '@emotion/css',
    'prismjs',
    'react',
    'react-dom',
    'react-redux',
    'redux',
    'rxjs',
    'react-router',
    'react-router-dom',
    'd3',
    'angular',
    /^@grafana\/ui/i,
    /^@grafana\/runtime/i,
    /^@grafana\/data/i,
  ],
  module: {
    rules: [
      {
        test: /\.[tj]sx?$/,
        exclude: /node_modules/,
        use: {
          loader: 'swc-loader',
          options: {
            jsc: {
              baseUrl: root,
              target: 'es2015',
              loose: false,
              parser: { syntax: 'typescript', tsx: true, decorators: false, dynamicImport: true },
            },
          },
        },
      },
    ],
  },
  output: {
    clean: { keep: /^(gpx_|go_plugin_build_manifest)/ },
    filename: '[name].js',
    library: { type: 'amd' },
    path: dist,
    publicPath: `public/plugins/${pluginJson.id}/`,
    uniqueName: pluginJson.id,
  },
  plugins: [
    new CopyWebpackPlugin({
      patterns: [
        {
          // plugin.json at the top level is the single source of truth.
          from: 'plugin.json',
          to: '.',
          transform: (content) =>
            content
              .toString()
              .replace('%VERSION%', packageJson.version)
              .replace('%TODAY%', new Date().toISOString().slice(0, 10)),
        },
        { from: 'README.md', to: '.' },
        { from: 'LICENSE', to: '.', noErrorOnMissing: true },
        { from: 'CHANGELOG.md', to: '.', noErrorOnMissing: true },
        { from: 'src/img', to: 'img' },
      ],
    }),
  ],
  resolve: {
    extensions: ['.js', '.jsx', '.ts', '.tsx'],
  },
  performance: { hints: false },
});

export default config;
