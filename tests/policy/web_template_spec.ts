/**
 * The shop's `web` pod as the tests that generate it write it: one container (image
 * `127.0.0.1:5000/web:1.0`), its GREETING from the ConfigMap `web-config`, an exec readiness probe.
 *
 * @module
 */

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
