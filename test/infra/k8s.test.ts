/**
 * The Kubernetes manifests (infra/k8s/): every object validated against the Kubernetes schemas
 * that kubernetes-models compiles in (generated from the Kubernetes OpenAPI document), then
 * checked for what the service needs: a GPU per origin replica, readiness from the origin's
 * /readyz, a grace period longer than the drain, one-at-a-time rollouts under a disruption
 * budget, a single edge on its volume, and environments the real config loaders accept.
 */
import { describe, expect, it } from 'vitest';
import { loadEdgeConfig } from '../../edge/src/config.ts';
import { loadOriginConfig } from '../../origin/src/config.ts';
import { filesIn, read, yamlDocuments } from './files.ts';

type K8sObject = { apiVersion: string; kind: string; metadata: { name: string; labels?: Record<string, string> }; [k: string]: unknown };
type EnvVar = { name: string; value?: string };
type Container = {
  name: string;
  env?: EnvVar[];
  ports?: { name: string; containerPort: number }[];
  resources?: { requests?: Record<string, unknown>; limits?: Record<string, unknown> };
  readinessProbe?: { httpGet?: { path: string; port: string } };
  livenessProbe?: { httpGet?: { path: string; port: string } };
  volumeMounts?: { name: string; mountPath: string }[];
};
type PodSpec = { containers: Container[]; terminationGracePeriodSeconds?: number; volumes?: { name: string; persistentVolumeClaim?: { claimName: string } }[] };
type Workload = K8sObject & {
  spec: {
    replicas: number;
    selector: { matchLabels: Record<string, string> };
    template: { metadata: { labels: Record<string, string> }; spec: PodSpec };
    updateStrategy?: { type: string };
    strategy?: { type: string };
  };
};

const MANIFESTS = filesIn('infra/k8s', '.yaml').filter((f) => !f.endsWith('kustomization.yaml'));
const objects = MANIFESTS.flatMap((file) => (yamlDocuments(file) as K8sObject[]).map((o) => ({ file, o })));
const find = <T extends K8sObject>(kind: string, name: string): T => {
  const hit = objects.find(({ o }) => o.kind === kind && o.metadata.name === name);
  if (!hit) throw new Error(`no ${kind} ${name} in infra/k8s`);
  return hit.o as T;
};

/** The kubernetes-models class for an object's apiVersion and kind (core `v1` → `kubernetes-models/v1/Kind`). */
async function modelOf(o: K8sObject): Promise<new (data: unknown) => { validate(): void }> {
  const mod = (await import(`kubernetes-models/${o.apiVersion}/${o.kind}`)) as Record<string, new (data: unknown) => { validate(): void }>;
  const cls = mod[o.kind];
  if (!cls) throw new Error(`kubernetes-models has no ${o.apiVersion} ${o.kind}`);
  return cls;
}

/** A container's environment as the pod sees it: ConfigMap data, the example Secret, then env with $(VAR) expanded. */
function podEnv(container: Container, secretName: string, fields: Record<string, string>): Record<string, string> {
  const config = find<K8sObject & { data: Record<string, string> }>('ConfigMap', 'motif-config').data;
  const secret = find<K8sObject & { stringData: Record<string, string> }>('Secret', secretName).stringData;
  const env: Record<string, string> = { ...config, ...secret, ...fields };
  for (const v of container.env ?? []) if (v.value !== undefined) env[v.name] = v.value.replace(/\$\(([A-Z_]+)\)/g, (_, n: string) => env[n] ?? '');
  return env;
}

describe.each(MANIFESTS)('%s', (file) => {
  it('every object is valid against the Kubernetes schema of its kind', async () => {
    for (const { o } of objects.filter((x) => x.file === file)) {
      const Model = await modelOf(o);
      expect(() => new Model(o).validate(), `${o.kind} ${o.metadata.name}`).not.toThrow();
    }
  });
});

describe('manifests', () => {
  it('the schema check catches a wrong type (the validator is not a no-op)', async () => {
    const sts = structuredClone(find<Workload>('StatefulSet', 'motif-origin'));
    (sts.spec as Record<string, unknown>).replicas = 'two';
    const Model = await modelOf(sts);
    expect(() => new Model(sts).validate()).toThrow(/replicas/);
  });

  it('kustomization.yaml applies every manifest but the example Secrets', () => {
    const [k] = yamlDocuments('infra/k8s/kustomization.yaml') as [{ resources: string[] }];
    expect(k.resources.map((r) => `infra/k8s/${r}`).sort()).toEqual(MANIFESTS.filter((f) => !f.endsWith('secrets.example.yaml')));
  });
});

describe('origin pool', () => {
  const sts = find<Workload>('StatefulSet', 'motif-origin');
  const pod = sts.spec.template.spec;
  const origin = pod.containers[0]!;

  it('asks for one GPU (one GCD) per replica', () => {
    expect(pod.containers).toHaveLength(1);
    expect(Number(origin.resources?.limits?.['amd.com/gpu'])).toBe(1);
    expect(Number(origin.resources?.requests?.['amd.com/gpu'])).toBe(1);
  });

  it("is ready when the origin's /readyz says so and alive by /healthz, paths the origin serves", () => {
    expect(origin.readinessProbe?.httpGet?.path).toBe('/readyz');
    expect(origin.livenessProbe?.httpGet?.path).toBe('/healthz');
    const app = read('origin/src/server/app.ts');
    for (const path of ['/readyz', '/healthz']) expect(app).toContain(`app.get('${path}'`);
    expect(origin.ports?.map((p) => p.name)).toContain(origin.readinessProbe?.httpGet?.port);
  });

  it('gives a terminating replica longer than its drain, and rolls one replica at a time under a disruption budget', () => {
    const env = podEnv(origin, 'motif-origin-secrets', { POD_NAME: 'motif-origin-0', POD_IP: '10.42.0.7' });
    expect(pod.terminationGracePeriodSeconds! * 1000).toBeGreaterThan(Number(env.MOTIF_DRAIN_TIMEOUT_MS));
    expect(sts.spec.updateStrategy?.type).toBe('RollingUpdate');
    const pdb = find<K8sObject & { spec: { maxUnavailable: number; selector: { matchLabels: Record<string, string> } } }>(
      'PodDisruptionBudget',
      'motif-origin',
    );
    expect(pdb.spec.maxUnavailable).toBe(1);
    expect(sts.spec.template.metadata.labels).toMatchObject(pdb.spec.selector.matchLabels);
    expect(sts.spec.template.metadata.labels).toMatchObject(sts.spec.selector.matchLabels);
  });

  it('starts with its ConfigMap, Secret and pod fields: the vLLM engine, a replica id its node key may speak for, its pod IP announced', () => {
    const env = podEnv(origin, 'motif-origin-secrets', { POD_NAME: 'motif-origin-1', POD_IP: '10.42.0.8' });
    const config = loadOriginConfig({ ...env, MOTIF_DEV: '1' }, { hostname: 'unused' });
    expect(config.engine).toBe('vllm');
    expect(config.replicaId).toBe('motif-origin-1');
    expect(config.replicaId.startsWith(`${config.nodeId}-`)).toBe(true);
    expect(config.publicUrl).toBe(`http://10.42.0.8:${origin.ports![0]!.containerPort}`);
    expect(config.host).toBe('0.0.0.0');
  });

  it("reaches the edge through the edge's Service, whose node key list carries the pool's key", () => {
    const env = podEnv(origin, 'motif-origin-secrets', { POD_NAME: 'motif-origin-0', POD_IP: '10.42.0.7' });
    const service = find<K8sObject & { spec: { ports: { port: number }[] } }>('Service', 'motif-edge');
    const url = new URL(env.MOTIF_EDGE_URL!);
    expect(url.hostname.split('.')[0]).toBe(service.metadata.name);
    expect(Number(url.port)).toBe(service.spec.ports[0]!.port);
    const edgeSecret = find<K8sObject & { stringData: Record<string, string> }>('Secret', 'motif-edge-secrets').stringData;
    expect(edgeSecret.MOTIF_NODE_KEYS!.split(',')).toContain(`${env.MOTIF_NODE_KEY}@${env.MOTIF_NODE_ID}`);
    expect(edgeSecret.MOTIF_ORIGIN_SECRET).toBe(env.MOTIF_ORIGIN_SECRET);
  });
});

describe('edge', () => {
  const edge = find<Workload>('Deployment', 'motif-edge');
  const pod = edge.spec.template.spec;
  const container = pod.containers[0]!;

  it('is one replica, replaced (not surged) so one process holds the SQLite volume', () => {
    expect(edge.spec.replicas).toBe(1);
    expect(edge.spec.strategy?.type).toBe('Recreate');
  });

  it('keeps its data directory on the claimed volume and starts with its ConfigMap and Secret', () => {
    const env = podEnv(container, 'motif-edge-secrets', {});
    const config = loadEdgeConfig({ ...env, MOTIF_DEV: '1' });
    const claim = pod.volumes?.find((v) => v.persistentVolumeClaim)?.persistentVolumeClaim?.claimName;
    expect(claim).toBe(find('PersistentVolumeClaim', claim!).metadata.name);
    const mount = container.volumeMounts?.find((m) => pod.volumes?.find((v) => v.name === m.name)?.persistentVolumeClaim);
    expect(env.MOTIF_EDGE_DATA_DIR!.startsWith(`${mount!.mountPath}/`)).toBe(true);
    expect(config.port).toBe(container.ports![0]!.containerPort);
  });
});
