import { defineConfig } from 'vite';

// The dashboard imports the API's fetch client from source (`@unilab/api/client`, web-standard), like every
// workspace package: the `development` condition picks its TypeScript.
export default defineConfig({
  resolve: { conditions: ['development', 'browser', 'module', 'import', 'default'] },
  build: { outDir: 'dist', emptyOutDir: true, target: 'es2022', reportCompressedSize: false },
});
