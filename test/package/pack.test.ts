/**
 * The package installs like a construct library: `npm pack` (its `prepack` builds dist/ once),
 * the tarball unpacked into a scratch CDK app's node_modules exactly as npm installs it, next to
 * only what its package.json declares (dependencies and peerDependencies), and synthesized there
 * by plain `node` from a TypeScript app (type-checked against the shipped declarations, then
 * compiled) and from a plain JavaScript app (`require`). No esbuild, no TypeScript loader and none
 * of our sources are reachable from the scratch app, and its resources equal the repository's own
 * stack's for the same settings and feature flags (asset hashes and paths aside).
 */
import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import {
  existsSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  realpathSync,
  rmSync,
  symlinkSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { App } from 'aws-cdk-lib';
import { KmsIncidentRotationStack } from '../../lib/stack';
import { settingsFromContext } from '../../lib/settings/settings-sources';

const ROOT = path.join(__dirname, '..', '..');
const NODE_MODULES = realpathSync(path.join(ROOT, 'node_modules'));
/** What a current `cdk init` app's cdk.json sets, as the repository's own cdk.json does (test/infra/feature-flags.test.ts). */
const CDK_JSON_CONTEXT = (
  JSON.parse(readFileSync(path.join(ROOT, 'cdk.json'), 'utf8')) as { context: Record<string, unknown> }
).context;
const ENV = { account: '111122223333', region: 'us-east-1' };
/** Settings other than the defaults, the re-encryption branch on: every one of the 16 functions is deployed. */
const SETTINGS = { notificationEmails: ['oncall@example.com'], automaticReserve: 4, reEncryptBuckets: ['orders-data'] };
/** `cdk synth`'s context in every app: cdk.json's (its flags as a current `cdk init` app sets them), the settings, asset metadata on (as the CLI sets it). */
const CONTEXT = { ...CDK_JSON_CONTEXT, ...SETTINGS, 'aws:cdk:enable-asset-metadata': true };
const STACK = 'KmsIncidentRotation';

interface PackedManifest {
  name: string;
  main: string;
  types: string;
  dependencies?: Record<string, string>;
  peerDependencies?: Record<string, string>;
}
type Template = {
  Resources: Record<string, { Type: string; Properties?: Record<string, unknown>; Metadata?: Record<string, unknown> }>;
  Outputs?: Record<string, unknown>;
};

let scratch: string;
let app: string;
let packageDir: string;
let manifest: PackedManifest;

/** `npm pack` into `dir` (its prepack runs the package's build); the tarball's path. */
function pack(dir: string): string {
  const out = run('npm', ['pack', '--json', '--pack-destination', dir], { cwd: ROOT });
  const [{ filename }] = JSON.parse(out) as [{ filename: string }];
  return path.join(dir, filename);
}

/** What `npm install <tarball>` puts in node_modules/<name>: the tarball's `package/` folder. */
function unpack(tarball: string, nodeModules: string): string {
  const probe = mkdtempSync(path.join(scratch, 'unpack-'));
  execFileSync('tar', ['-xzf', tarball, '-C', probe]);
  const { name } = JSON.parse(readFileSync(path.join(probe, 'package', 'package.json'), 'utf8')) as PackedManifest;
  const target = path.join(nodeModules, name);
  execFileSync('mv', [path.join(probe, 'package'), target]);
  return target;
}

/** Whether `version` is in `range`: an exact `M.m.p` or a caret `^M.m.p` (the shapes the package declares; any other is refused). */
function inRange(version: string, range: string): boolean {
  const parse = (v: string) => v.split('.').map(Number);
  if (/^\d+\.\d+\.\d+$/.test(range)) return version === range;
  const m = /^\^(\d+\.\d+\.\d+)$/.exec(range);
  if (!m) throw new Error(`unexpected range ${range}: the package declares exact versions or caret ranges`);
  const [want, have] = [parse(m[1]!), parse(version)];
  if (have[0] !== want[0]) return false;
  for (let i = 1; i < 3; i++) if (have[i] !== want[i]) return have[i]! > want[i]!;
  return true;
}

/**
 * Links one installed package into the scratch app (offline stand-in for npm fetching it), after
 * checking that the repository's copy satisfies the range the tarball declares.
 */
function linkDeclared(nodeModules: string, name: string, range: string | undefined): void {
  const source = path.join(NODE_MODULES, name);
  const { version } = JSON.parse(readFileSync(path.join(source, 'package.json'), 'utf8')) as { version: string };
  if (range !== undefined && !inRange(version, range))
    throw new Error(`${name}@${version} is not in the declared ${range}`);
  mkdirSync(path.dirname(path.join(nodeModules, name)), { recursive: true });
  symlinkSync(source, path.join(nodeModules, name), 'dir');
}

/** Runs a command; on failure the error carries its output (tsc prints its diagnostics on stdout). */
function run(command: string, args: string[], options: { cwd: string; env?: NodeJS.ProcessEnv }): string {
  try {
    return execFileSync(command, args, { ...options, encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
  } catch (error) {
    const { stdout, stderr } = error as { stdout?: string; stderr?: string };
    throw new Error(`${command} ${args.join(' ')} failed:\n${stdout ?? ''}${stderr ?? ''}`, { cause: error });
  }
}

/** Runs a scratch app's JavaScript entry with plain node, as `cdk synth` would (context and outdir from the environment). */
function synthScratch(entry: string, outdir: string, context: Record<string, unknown>): void {
  run(process.execPath, [entry], {
    cwd: app,
    env: {
      PATH: process.env.PATH,
      HOME: process.env.HOME,
      CDK_OUTDIR: outdir,
      CDK_CONTEXT_JSON: JSON.stringify(context),
    },
  });
}

function readTemplate(outdir: string, stackName: string): Template {
  return JSON.parse(readFileSync(path.join(outdir, `${stackName}.template.json`), 'utf8')) as Template;
}

/** The template without what only says where the code came from: asset hashes, keys and paths. */
function withoutAssetIdentity(template: Template): Template {
  const json = JSON.stringify({ Resources: template.Resources, Outputs: template.Outputs ?? {} }).replace(
    /[0-9a-f]{64}(\.zip)?/g,
    '<asset>',
  );
  const copy = JSON.parse(json) as Template;
  for (const resource of Object.values(copy.Resources)) {
    for (const key of Object.keys(resource.Metadata ?? {}))
      if (key.startsWith('aws:asset:')) delete resource.Metadata![key];
    if (resource.Metadata && Object.keys(resource.Metadata).length === 0) delete resource.Metadata;
  }
  return copy;
}

const sha256 = (file: string) => createHash('sha256').update(readFileSync(file)).digest('hex');

/** Each function's logical id with the sha256 of the index.js its asset stages (asset metadata on). */
function stagedCode(template: Template, outdir: string): Record<string, string> {
  return Object.fromEntries(
    Object.entries(template.Resources)
      .filter(([, r]) => r.Type === 'AWS::Lambda::Function')
      .map(([id, r]) => [id, sha256(path.join(outdir, r.Metadata!['aws:asset:path'] as string, 'index.js'))]),
  );
}

/**
 * The repository's own stack from the TypeScript sources with the same context, bundled for real
 * (NodejsFunction, local esbuild): what `cdk deploy` from a checkout deploys.
 */
function synthRepository(context: Record<string, unknown>): { template: Template; outdir: string } {
  const outdir = mkdtempSync(path.join(scratch, 'repo-out-'));
  const repo = new App({ outdir, context });
  const stack = new KmsIncidentRotationStack(repo, STACK, {
    env: ENV,
    settings: settingsFromContext((key) => repo.node.tryGetContext(key)),
  });
  return { template: repo.synth().getStackByName(stack.stackName).template as Template, outdir };
}

let repository: { template: Template; outdir: string };

beforeAll(() => {
  scratch = mkdtempSync(path.join(tmpdir(), 'kms-incident-rotation-pack-'));
  app = path.join(scratch, 'app');
  const nodeModules = path.join(app, 'node_modules');
  mkdirSync(nodeModules, { recursive: true });
  packageDir = unpack(pack(scratch), nodeModules);
  manifest = JSON.parse(readFileSync(path.join(packageDir, 'package.json'), 'utf8')) as PackedManifest;
  for (const [name, range] of Object.entries({ ...manifest.dependencies, ...manifest.peerDependencies }))
    linkDeclared(nodeModules, name, range);
  // The app's own dev dependency, as `cdk init app --language typescript` adds it.
  linkDeclared(nodeModules, '@types/node', undefined);
  repository = synthRepository(CONTEXT);
}, 240_000);

afterAll(() => {
  if (scratch) rmSync(scratch, { recursive: true, force: true });
});

test('the tarball holds the compiled library, its declarations and the prebuilt bundles, and no TypeScript source', () => {
  const files = readdirSync(packageDir, { recursive: true }) as string[];
  expect(existsSync(path.join(packageDir, manifest.main))).toBe(true);
  expect(existsSync(path.join(packageDir, manifest.types))).toBe(true);
  const source = files.filter((f) => f.endsWith('.ts') && !f.endsWith('.d.ts'));
  expect(source).toEqual([]);
  const bundles = readdirSync(path.join(packageDir, 'dist', 'bundles')).sort();
  const handlers = readdirSync(path.join(ROOT, 'lambdas'))
    .filter((f) => existsSync(path.join(ROOT, 'lambdas', f, 'handler.ts')))
    .sort();
  expect(bundles).toEqual(handlers);
  // Nothing for the deployed code's own dependencies: they are inside the bundles.
  expect(Object.keys(manifest.dependencies ?? {})).toEqual(['zod']);
  expect(Object.keys(manifest.peerDependencies ?? {}).sort()).toEqual(['aws-cdk-lib', 'constructs']);
});

test("a plain JavaScript app requires it with CommonJS and synthesizes the repository's stack: same resources, same Lambda code", () => {
  const entry = path.join(app, 'app.js');
  writeFileSync(
    entry,
    [
      "const { App } = require('aws-cdk-lib');",
      "const { KmsIncidentRotationStack } = require('kms-incident-rotation');",
      'const app = new App();',
      `new KmsIncidentRotationStack(app, '${STACK}', { env: ${JSON.stringify(ENV)} });`,
      'app.synth();',
    ].join('\n'),
  );
  const outdir = path.join(scratch, 'js-out');
  synthScratch(entry, outdir, CONTEXT);

  const actual = readTemplate(outdir, STACK);
  expect(Object.keys(actual.Resources).sort()).toEqual(Object.keys(repository.template.Resources).sort());
  expect(withoutAssetIdentity(actual)).toEqual(withoutAssetIdentity(repository.template));
  // Function by function, the prebuilt bundle is byte for byte what NodejsFunction bundles from source.
  const code = stagedCode(actual, outdir);
  expect(Object.keys(code)).toHaveLength(16);
  expect(code).toEqual(stagedCode(repository.template, repository.outdir));
  const shipped = readdirSync(path.join(packageDir, 'dist', 'bundles')).map((folder) =>
    sha256(path.join(packageDir, 'dist', 'bundles', folder, 'index.js')),
  );
  expect(Object.values(code).sort()).toEqual(shipped.sort());
}, 180_000);

test('a TypeScript app type-checks against the shipped declarations, runs compiled, and synthesizes the same resources with the construct', () => {
  writeFileSync(
    path.join(app, 'tsconfig.json'),
    // The compiler options of `cdk init app --language typescript` (aws-cdk's init template), emitting JavaScript.
    JSON.stringify({
      compilerOptions: {
        target: 'ES2022',
        module: 'NodeNext',
        moduleResolution: 'NodeNext',
        lib: ['es2022'],
        strict: true,
        noImplicitAny: true,
        skipLibCheck: true,
        typeRoots: ['./node_modules/@types'],
        outDir: 'build',
      },
      include: ['app.ts'],
    }),
  );
  writeFileSync(
    path.join(app, 'app.ts'),
    [
      "import { App, Stack } from 'aws-cdk-lib';",
      "import { KmsIncidentRotation, type KmsIncidentRotationProps } from 'kms-incident-rotation';",
      `const props: KmsIncidentRotationProps = ${JSON.stringify(SETTINGS)};`,
      'const app = new App();',
      `const stack = new Stack(app, '${STACK}', { env: ${JSON.stringify(ENV)} });`,
      "const rotation = new KmsIncidentRotation(stack, 'Default', props);",
      // The declarations carry the construct's members and the props' types: were they unresolved
      // (`any`, e.g. a declaration importing a package the tarball does not declare), tsc fails here.
      'export const topicArn: string = rotation.topic.topicArn;',
      '// @ts-expect-error a prop of the wrong type does not compile',
      "export const wrong: KmsIncidentRotationProps = { rotationBudget: 'many' };",
      'app.synth();',
    ].join('\n'),
  );
  run(process.execPath, [path.join(NODE_MODULES, 'typescript', 'bin', 'tsc'), '-p', app], { cwd: app });
  const outdir = path.join(scratch, 'ts-out');
  // Settings as props, not context: the app's own cdk.json holds only the flags.
  synthScratch(path.join(app, 'build', 'app.js'), outdir, {
    ...CDK_JSON_CONTEXT,
    'aws:cdk:enable-asset-metadata': true,
  });

  const actual = readTemplate(outdir, STACK);
  expect(withoutAssetIdentity(actual)).toEqual(withoutAssetIdentity(repository.template));
  expect(stagedCode(actual, outdir)).toEqual(stagedCode(repository.template, repository.outdir));
}, 180_000);

test("the scratch app reaches no esbuild, no TypeScript loader and none of the repository's files", () => {
  const resolvable = (request: string) => {
    try {
      return require.resolve(request, { paths: [packageDir, app] });
    } catch {
      return undefined;
    }
  };
  for (const tool of ['esbuild', 'tsx', 'ts-node']) expect(resolvable(tool)).toBeUndefined();
  // Links only to what the tarball declares (and the app's @types/node).
  const linked = readdirSync(path.join(app, 'node_modules'), { withFileTypes: true }).flatMap((entry) =>
    entry.name.startsWith('@')
      ? readdirSync(path.join(app, 'node_modules', entry.name)).map((inner) => `${entry.name}/${inner}`)
      : [entry.name],
  );
  expect(linked.sort()).toEqual(['@types/node', 'aws-cdk-lib', 'constructs', 'kms-incident-rotation', 'zod']);
});
