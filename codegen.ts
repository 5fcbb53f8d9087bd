// graphql-codegen: typed documents for the client operations, generated into client/generated/.
//   npm run codegen      regenerate after changing schema.graphql or an operation in client/
// test/codegen.test.ts fails when the committed files differ from what this config generates.
import type { CodegenConfig } from '@graphql-codegen/cli';
// the project's own client-preset (the CLI carries an older copy that a preset name would resolve to)
import { preset as clientPreset } from '@graphql-codegen/client-preset';

const config: CodegenConfig = {
  // the committed, printed schema (npm run schema): codegen needs no running server
  schema: 'schema.graphql',
  // every graphql(`...`) call of the client module, the CLI and the web page
  documents: ['client/**/*.ts', 'cli/**/*.ts', 'web/src/**/*.ts', '!client/generated/**'],
  ignoreNoDocuments: false,
  generates: {
    'client/generated/': {
      // typed against a newer @graphql-codegen/plugin-helpers than the CLI's; the preset API is the same
      preset: clientPreset as never,
      presetConfig: {
        // plain result types: the operations select fields, not fragments to unmask
        fragmentMasking: false,
      },
      config: {
        // the generated imports end in .js, as NodeNext ESM (and Vite) want
        emitLegacyCommonJSImports: false,
        useTypeImports: true,
        enumsAsTypes: true,
        // DateTime is an ISO-8601 string on the wire
        scalars: { DateTime: { input: 'string', output: 'string' } },
        strictScalars: true,
        avoidOptionals: { field: true, inputValue: false, object: false, defaultValue: false },
      },
    },
  },
};

export default config;
