import grafanaConfig from '@grafana/eslint-config/flat.js';

export default [
  { ignores: ['dist/**', 'node_modules/**', 'coverage/**', '*.config.*'] },
  ...grafanaConfig,
  {
    files: ['src/**/*.{ts,tsx}'],
    rules: {
      'react/react-in-jsx-scope': 'off',
      'react/prop-types': 'off',
    },
  },
];
