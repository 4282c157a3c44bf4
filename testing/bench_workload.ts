/**
 * The workload of the `contrast generate` benchmark (`scripts/bench_generate.ts`): one Deployment
 * per index, shaped like a typical service (mesh ingress annotation, flow-style selectors, an env
 * list with a field reference, an exec readiness probe). Tests read the same text, so what they
 * prove about the fast paths holds for what the benchmark measures.
 *
 * @module
 */

/** The benchmark's Deployment number `i` (namespace `bench`), running the image `image`. */
export function benchDeployment(i: number, image: string): string {
  return `apiVersion: apps/v1
kind: Deployment
metadata:
  name: svc-${i}
  namespace: bench
  annotations:
    contrast.edgeless.systems/servicemesh-ingress: "svc#8080#false"
spec:
  selector: {matchLabels: {app: svc-${i}}}
  template:
    metadata:
      labels: {app: svc-${i}}
    spec:
      runtimeClassName: contrast-cc
      containers:
        - name: app
          image: ${image}
          env:
            - {name: INDEX, value: "${i}"}
            - {name: POD_NAME, valueFrom: {fieldRef: {fieldPath: metadata.name}}}
          readinessProbe: {exec: {command: ["/app", "ready"]}}
`;
}
