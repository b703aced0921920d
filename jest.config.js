// Jest as @grafana/create-plugin sets it up: swc transforms, jsdom, and the
// ES-module-only packages that @grafana/ui pulls in transformed too.
const esmPackages = ['d3', 'd3-[a-z-]+', 'delaunator', 'internmap', 'robust-predicates', 'uuid', 'ol', 'marked', 'react-colorful', 'rbush', 'quickselect', '@wojtekmaj', 'react-calendar', 'get-user-locale', 'memoize', 'mimic-function', 'ml-matrix', 'is-network-error', 'leven', 'nanoid', '@grafana/schema', 'yaml', 'lodash-es', 'p-limit', 'yocto-queue', 'ngx-markdown', 'color-convert', 'color-name', '@noble'];

module.exports = {
  testEnvironment: 'jsdom',
  setupFilesAfterEnv: ['<rootDir>/jest-setup.ts'],
  testMatch: ['<rootDir>/src/**/*.test.{ts,tsx}'],
  moduleNameMapper: {
    '\\.(css|scss|sass)$': 'identity-obj-proxy',
    '^react-inlinesvg$': '<rootDir>/jest/react-inlinesvg.tsx',
  },
  transform: {
    '^.+\\.(t|j)sx?$': ['@swc/jest', { jsc: { transform: { react: { runtime: 'automatic' } } } }],
    '^.+\\.mjs$': ['@swc/jest'],
  },
  transformIgnorePatterns: [`/node_modules/(?!(${esmPackages.join('|')})/)`],
};
