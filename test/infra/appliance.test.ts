/**
 * The appliance's artefacts (infra/appliance/): the compose file against the compose-spec JSON
 * schema (vendored in infra/schemas/, validated with ajv) and against what the services need;
 * the env examples through the real config loaders; the systemd units against the env files.
 */
import Ajv2019 from 'ajv/dist/2019.js';
import { describe, expect, it } from 'vitest';
import { loadEdgeConfig } from '../../edge/src/config.ts';
import { loadOriginConfig } from '../../origin/src/config.ts';
import { exists, parseEnvFile, parseUnit, read, yamlDocuments } from './files.ts';

const COMPOSE = 'infra/appliance/compose.yaml';
const sharedEnv = () => parseEnvFile(read('infra/appliance/motif.env.example'));
const replicaEnv = (n: number) => parseEnvFile(read(`infra/appliance/motif-origin-${n}.env.example`));

// The schema's custom formats: durations such as 1m30s; ports and expose are checked by its types.
const DURATION = /^(\d+(\.\d+)?(ns|us|ms|s|m|h))+$/;

function composeValidator() {
  // The schema uses union types (`type: [string, number]`), plain JSON Schema that ajv's strict mode flags.
  const ajv = new Ajv2019({ allErrors: true, allowUnionTypes: true });
  ajv.addFormat('duration', DURATION);
  ajv.addFormat('ports', true);
  ajv.addFormat('expose', true);
  ajv.addFormat('subnet_ip_address', /^[\d.:a-fA-F]+\/\d{1,3}$/);
  // Its $schema names draft 2019-09 by an older URL than ajv registers; Ajv2019 is that draft.
  const { $schema: _draft, ...schema } = JSON.parse(read('infra/schemas/compose-spec.json'));
  return ajv.compile(withoutLegacyIds(schema) as Record<string, unknown>);
}

/**
 * This revision of the schema labels sub-schemas with the pre-2019 `id` keyword, which ajv
 * refuses; the labels carry no constraint, so drop them (a property *named* id holds an object).
 */
function withoutLegacyIds(node: unknown): unknown {
  if (Array.isArray(node)) return node.map(withoutLegacyIds);
  if (node === null || typeof node !== 'object') return node;
  return Object.fromEntries(
    Object.entries(node)
      .filter(([k, v]) => !(k === 'id' && typeof v === 'string'))
      .map(([k, v]) => [k, withoutLegacyIds(v)]),
  );
}

type Service = {
  image?: string;
  environment?: Record<string, string>;
  devices?: string[];
  volumes?: string[];
  stop_grace_period?: string;
  env_file?: string;
};
type Compose = { services: Record<string, Service>; volumes: Record<string, unknown> };

const seconds = (d: string): number => {
  let total = 0;
  for (const [, n, unit] of d.matchAll(/(\d+(?:\.\d+)?)(ns|us|ms|s|m|h)/g)) total += Number(n) * { ns: 1e-9, us: 1e-6, ms: 1e-3, s: 1, m: 60, h: 3600 }[unit!]!;
  return total;
};

/** A replica is reachable at the URL it announces only if it listens on that address (or on all). */
function listensWhereItAnnounces(host: string, publicUrl: string): boolean {
  const announced = new URL(publicUrl).hostname.replace(/^\[|\]$/g, '');
  return host === '0.0.0.0' || host === '::' || host === announced;
}

describe('compose file', () => {
  const [compose] = yamlDocuments(COMPOSE) as [Compose];

  it('is valid against the compose-spec schema', () => {
    const validate = composeValidator();
    expect(validate(compose), JSON.stringify(validate.errors, null, 2)).toBe(true);
  });

  it('the schema catches a misspelt service key (the validator is not a no-op)', () => {
    const validate = composeValidator();
    const broken = structuredClone(compose);
    (broken.services.edge as Record<string, unknown>).enviroment = { A: '1' };
    expect(validate(broken)).toBe(false);
  });

  const origins = Object.entries(compose.services).filter(([name]) => name.startsWith('origin-'));

  it('runs an edge, MinIO, the bucket job and one origin per GCD with the ROCm devices', () => {
    expect(Object.keys(compose.services).sort()).toEqual(['create-bucket', 'edge', 'minio', 'origin-gcd0', 'origin-gcd1']);
    expect(origins.map(([, s]) => s.environment?.MOTIF_VLLM_GPU).sort()).toEqual(['0', '1']);
    for (const [name, s] of origins) {
      expect(s.devices, name).toEqual(expect.arrayContaining(['/dev/kfd', '/dev/dri']));
      // The origin derives the child's ROCR/HIP variables from MOTIF_VLLM_GPU; setting them here
      // too (HIP_VISIBLE_DEVICES=1 beside ROCR_VISIBLE_DEVICES=1) would leave HIP no device.
      expect(s.environment?.HIP_VISIBLE_DEVICES, name).toBeUndefined();
      expect(s.environment?.ROCR_VISIBLE_DEVICES, name).toBeUndefined();
      expect(s.image, name).toMatch(/^motif-origin-vllm:/);
    }
  });

  it('each origin announces an address the edge admits and it listens on, and has its own data volume beside the shared weights', () => {
    const allow = compose.services.edge!.environment!.MOTIF_ORIGIN_ALLOW!.split(',');
    const dataVolumes = new Set<string>();
    for (const [name, s] of origins) {
      const env = s.environment!;
      const url = new URL(env.MOTIF_ORIGIN_PUBLIC_URL!);
      expect(url.hostname, name).toBe(name);
      expect(allow, name).toContain(name);
      expect(url.port, name).toBe(env.MOTIF_ORIGIN_PORT);
      expect(listensWhereItAnnounces(env.MOTIF_ORIGIN_HOST!, url.href), name).toBe(true);
      expect(new URL(env.MOTIF_EDGE_URL!).hostname, name).toBe('edge');
      expect(s.volumes, name).toContain(`weights:${env.MOTIF_WEIGHTS_STORE}`);
      const data = s.volumes!.find((v) => v.endsWith(`:${env.MOTIF_ORIGIN_DATA_DIR}`));
      expect(data, name).toBeDefined();
      dataVolumes.add(data!.split(':')[0]!);
      // Docker's stop timeout must outlast the drain, or running generations are killed.
      expect(seconds(s.stop_grace_period!), name).toBeGreaterThan(Number(env.MOTIF_DRAIN_TIMEOUT_MS) / 1000);
    }
    expect(dataVolumes.size).toBe(origins.length);
  });

  it('every origin starts with the shared env file plus its own settings', () => {
    for (const [name, s] of origins) {
      const env = { ...sharedEnv(), ...s.environment, MOTIF_DEV: '1' };
      const config = loadOriginConfig(env, { hostname: 'unused' });
      expect(config.replicaId.startsWith(`${config.nodeId}-`), name).toBe(true);
      expect(config.engine, name).toBe('vllm');
    }
  });

  it('reads the same settings file as the systemd units', () => {
    const unitFiles = parseUnit(read('infra/appliance/motif-edge.service')).Service!.EnvironmentFile!;
    for (const [name, s] of Object.entries(compose.services)) expect(unitFiles, name).toContain(s.env_file);
  });

  it('pins every image: ours by MOTIF_VERSION, third-party ones by an exact release tag', () => {
    for (const [name, s] of Object.entries(compose.services)) {
      expect(s.image, name).toMatch(/^motif-(edge|origin|origin-vllm):\$\{MOTIF_VERSION:-\d+\.\d+\.\d+\}$|^minio\/minio:RELEASE\.\d{4}-\d\d-\d\dT[\d-]+Z$/);
      const ours = /^motif-([a-z-]+):/.exec(s.image!)?.[1];
      if (ours) expect(exists(`infra/appliance/images/${ours}.Dockerfile`), name).toBe(true);
    }
  });
});

describe('env examples', () => {
  it.each([0, 1])('replica %i listens where it announces itself (the edge can reach it)', (n) => {
    const config = loadOriginConfig({ ...sharedEnv(), ...replicaEnv(n), MOTIF_DEV: '1' }, { hostname: 'unused' });
    expect(config.publicUrl).toBeDefined();
    expect(listensWhereItAnnounces(config.host, config.publicUrl!)).toBe(true);
    expect(new URL(config.edgeUrl!).port).toBe(sharedEnv().MOTIF_EDGE_PORT);
  });

  it('the two replicas differ in port, replica id, data directory and GCD', () => {
    const [a, b] = [replicaEnv(0), replicaEnv(1)];
    for (const key of ['MOTIF_ORIGIN_PORT', 'MOTIF_REPLICA_ID', 'MOTIF_ORIGIN_DATA_DIR', 'MOTIF_VLLM_GPU']) expect(a[key], key).not.toBe(b[key]);
  });

  it("the edge loads the shared file, and lists the node's key bound to its node id", () => {
    const env = sharedEnv();
    const config = loadEdgeConfig({ ...env, MOTIF_DEV: '1' });
    expect(config.port).toBe(Number(env.MOTIF_EDGE_PORT));
    expect(env.MOTIF_NODE_KEYS!.split(',')).toContain(`${env.MOTIF_NODE_KEY}@${env.MOTIF_NODE_ID}`);
  });

  it('refuses to start on the placeholder secrets outside development', () => {
    expect(() => loadOriginConfig({ ...sharedEnv(), ...replicaEnv(0) }, { hostname: 'unused' })).toThrow(/MOTIF_ORIGIN_SECRET/);
    expect(() => loadEdgeConfig(sharedEnv())).toThrow(/MOTIF_KEY_PEPPER|MOTIF_ORIGIN_SECRET/);
  });
});

describe('systemd units', () => {
  const edge = parseUnit(read('infra/appliance/motif-edge.service'));
  const origin = parseUnit(read('infra/appliance/motif-origin@.service'));

  it('read env files that the examples provide, and run files that exist', () => {
    for (const [unit, script] of [
      [edge, 'edge/src/node.ts'],
      [origin, 'origin/src/main.ts'],
    ] as const) {
      for (const file of unit.Service!.EnvironmentFile!) {
        const name = file.replace('/etc/motif-edge/', '').replace('%i', '0');
        expect(exists(`infra/appliance/${name}.example`), file).toBe(true);
      }
      expect(unit.Service!.ExecStart![0]).toBe(`/opt/motif-edge/bin/node --import tsx ${script}`);
      expect(exists(script)).toBe(true);
      expect(unit.Service!.ReadWritePaths![0]).toBe('/var/lib/motif-edge');
    }
  });

  it('back up every data directory the env files define, with a script that exists', () => {
    const backup = parseUnit(read('infra/appliance/motif-backup.service'));
    const command = backup.Service!.ExecStart![0]!;
    expect(exists('scripts/ops/backup-sqlite.ts')).toBe(true);
    expect(command).toContain('scripts/ops/backup-sqlite.ts');
    const env = sharedEnv();
    for (const dir of [env.MOTIF_EDGE_DATA_DIR!, replicaEnv(0).MOTIF_ORIGIN_DATA_DIR!, replicaEnv(1).MOTIF_ORIGIN_DATA_DIR!])
      expect(command, dir).toContain(` ${dir}`);
  });

  it("give the origin's drain time to finish before systemd kills it", () => {
    expect(Number(origin.Service!.TimeoutStopSec![0]) * 1000).toBeGreaterThan(Number(sharedEnv().MOTIF_DRAIN_TIMEOUT_MS));
  });

  it('keep state where the env files put it', () => {
    const env = { ...sharedEnv(), ...replicaEnv(0) };
    for (const dir of [env.MOTIF_EDGE_DATA_DIR!, env.MOTIF_WEIGHTS_STORE!, env.MOTIF_ORIGIN_DATA_DIR!])
      expect(dir.startsWith('/var/lib/motif-edge/'), dir).toBe(true);
  });
});
