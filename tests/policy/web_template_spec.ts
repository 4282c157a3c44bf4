/**
 * The shop's `web` pod as the tests that generate it write it: one container (image
 * `127.0.0.1:5000/web:1.0`), its GREETING from the ConfigMap `web-config`, an exec readiness probe.
 *
 * @module
 */

/**
 * The first lines of the `web` Deployment in namespace `shop`, up to `spec.template:` (no final
 * newline): the pod template follows, indented by four spaces.
 */
export const WEB_DEPLOYMENT_HEAD = `apiVersion: apps/v1
kind: Deployment
metadata:
  name: web
  namespace: shop
spec:
  template:`;

/**
 * The lines below a Deployment's `spec.template.spec:` (indented for it, six spaces, no final
 * newline): runtimeClassName contrast-cc and the `web` container.
 */
export const WEB_TEMPLATE_SPEC = `      runtimeClassName: contrast-cc
      containers:
        - name: web
          image: "127.0.0.1:5000/web:1.0"
          env:
            - name: GREETING
              valueFrom:
                configMapKeyRef: {name: web-config, key: greeting}
          readinessProbe:
            exec:
              command: ["/usr/bin/web", "ready"]`;
