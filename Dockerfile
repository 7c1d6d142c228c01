# Aerie for docker-compose and production: runs the TypeScript sources through tsx (no build step),
# as a non-root user. External services come from the environment (see README, Configuration).
# Node 24 LTS (package.json engines: ^22.12.0 || ^24.0.0).
FROM node:24-bookworm-slim
WORKDIR /app
# openssl: signed-only releases verify CMS signatures with `openssl cms -verify` (api/services/release-signatures.ts).
RUN apt-get update && apt-get install -y --no-install-recommends openssl && rm -rf /var/lib/apt/lists/*
ENV NODE_ENV=production AERIE_HOST=0.0.0.0 AERIE_DATA_DIR=/var/lib/aerie
COPY package.json package-lock.json ./
COPY scripts/prisma-generate.mjs scripts/prisma-generate.mjs
COPY prisma prisma
COPY prisma.config.ts ./
RUN npm ci --no-audit --no-fund && npm cache clean --force
COPY . .
# mosquitto-auth: a new named volume mounted here takes this folder's owner, so that user node can write it.
RUN mkdir -p /var/lib/aerie/mosquitto-auth && chown -R node:node /var/lib/aerie
USER node
EXPOSE 8080
HEALTHCHECK --interval=10s --timeout=3s --start-period=30s CMD node -e "fetch('http://127.0.0.1:8080/healthz').then(r=>process.exit(r.ok?0:1),()=>process.exit(1))"
CMD ["node", "bin/aerie.js", "start"]
