// ESLint flat config. TypeScript: typescript-eslint's type-aware recommended set (it reads the types
// tsc computes, so it catches floating promises, throwing non-errors, `any` leaking out of src/).
// JavaScript (bin/, scripts/, this file): ESLint's recommended set. `npm run lint` runs it.
import js from '@eslint/js';
import tseslint from 'typescript-eslint';

export default tseslint.config(
  { ignores: ['dist/', '.tmp/', 'coverage/', 'samples/', 'idl/', 'bench/dubbo-replay/', 'test/support/envoy-client/'] },
  { linterOptions: { reportUnusedDisableDirectives: 'error' } },
  js.configs.recommended,
  ...tseslint.configs.recommendedTypeChecked,
  {
    languageOptions: {
      parserOptions: { projectService: true, tsconfigRootDir: import.meta.dirname },
    },
    rules: {
      // Compiled plans hand out closures that never use `this`; destructuring them is the point.
      '@typescript-eslint/unbound-method': 'off',
      // Error messages describe unknown wire values (a bad flag, a stray JSON value) on purpose.
      '@typescript-eslint/no-base-to-string': 'off',
      // node:test's test()/describe() return promises the runner itself awaits.
      '@typescript-eslint/no-floating-promises': [
        'error',
        {
          allowForKnownSafeCalls: [
            { from: 'package', package: 'node:test', name: ['test', 'it', 'describe', 'suite', 'before', 'after', 'beforeEach', 'afterEach'] },
          ],
        },
      ],
      // A leading underscore marks a binding that is unused on purpose (a rest-destructuring omit, a callback's slot).
      '@typescript-eslint/no-unused-vars': [
        'error',
        {
          argsIgnorePattern: '^_',
          varsIgnorePattern: '^_',
          caughtErrorsIgnorePattern: '^_',
          destructuredArrayIgnorePattern: '^_',
          ignoreRestSiblings: true,
        },
      ],
      // `==` only for the `x == null` idiom.
      eqeqeq: ['error', 'smart'],
      // `async` without `await` is how this code implements Promise-returning interfaces (close(), handle()).
      '@typescript-eslint/require-await': 'off',
    },
  },
  {
    // The Hessian codecs throw a symbol / a plain fault object on purpose: no stack capture on the
    // failure path, and they are caught in the same file before anything else sees them.
    files: ['src/codec/hessian/decode-typed.ts', 'src/codec/hessian/encode-json.ts'],
    rules: { '@typescript-eslint/only-throw-error': 'off' },
  },
  {
    // Tests and benchmarks read JSON replies and third-party objects as `any` on purpose; their
    // assertions check the shape. src/ stays under the full set.
    files: ['test/**', 'bench/**'],
    rules: {
      '@typescript-eslint/no-explicit-any': 'off',
      '@typescript-eslint/no-unsafe-member-access': 'off',
      '@typescript-eslint/no-unsafe-assignment': 'off',
      '@typescript-eslint/no-unsafe-call': 'off',
      '@typescript-eslint/no-unsafe-argument': 'off',
      '@typescript-eslint/no-unsafe-return': 'off',
    },
  },
  {
    // Plain Node ESM scripts, outside tsconfig.json: no type information, Node's globals.
    files: ['**/*.js', '**/*.mjs'],
    extends: [tseslint.configs.disableTypeChecked],
    languageOptions: { globals: { process: 'readonly', console: 'readonly' } },
  },
);
