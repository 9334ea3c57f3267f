// containerapps.bicep - chatter's scale-out deployment on Azure Container Apps.
//
//   serve   `chatter serve --no-workers` replicas behind HTTPS ingress (probes /healthz, /readyz)
//   worker  `chatter worker`, no ingress, scaled by KEDA on the Redis stream's length
//   redis   the broker: an internal Redis 7 app (TCP ingress, inside the environment's VNet only)
//   sweep   a scheduled Container Apps job: `chatter sweep` every 10 minutes
// PostgreSQL is yours (e.g. Azure Database for PostgreSQL flexible server): pass its URL, with
// ?sslmode=require, as postgresUrl. Migrations run when serve and worker start (advisory-locked, so
// replicas starting together are safe).
//
// Redis keeps no volume here: when it restarts it loses queued messages but no work, because the database
// is the truth and the sweep job re-queues every unfinished post (its --stale-after bounds the delay).
// chatter speaks plain redis:// (no TLS), which is why Redis stays inside the VNet rather than being an
// Azure Cache for Redis endpoint.
//
//   az deployment group create -g RG -f deploy/azure/containerapps.bicep \
//     -p image=ghcr.io/OWNER/chatter:latest postgresUrl=... redisPassword=... youtubeApiKey=... \
//        oidcIssuer=https://login.microsoftonline.com/TENANT/v2.0 oidcAudience=api://chatter

@description('Azure region')
param location string = resourceGroup().location

@description('Prefix of every resource name')
param name string = 'chatter'

@description('chatter image, e.g. ghcr.io/OWNER/chatter:latest')
param image string

@description('Registry credentials; leave registryServer empty for a public image')
param registryServer string = ''
param registryUsername string = ''
@secure()
param registryPassword string = ''

@description('postgres://USER:PASSWORD@HOST:5432/DB?sslmode=require')
@secure()
param postgresUrl string

@description('Password the internal Redis requires')
@secure()
param redisPassword string

@secure()
param youtubeApiKey string = ''

@description('OIDC issuer and audience of the API (see docs/AUTH.md); required when serve is reachable')
param oidcIssuer string
param oidcAudience string

param serveMinReplicas int = 2
param serveMaxReplicas int = 6
param workerMinReplicas int = 1
param workerMaxReplicas int = 10
@description('Worker threads per worker replica (chatter worker --concurrency)')
param workerConcurrency int = 4
@description('KEDA target: stream entries (queued + in flight) per worker replica')
param messagesPerWorker int = 20
@description('Days jobs are kept (chatter sweep; 0 = forever)')
param retentionDays int = 30

var redisApp = '${name}-redis'
var redisUrl = 'redis://:${redisPassword}@${redisApp}:6379/0'
var registries = empty(registryServer) ? [] : [
  {
    server: registryServer
    username: registryUsername
    passwordSecretRef: 'registry-password'
  }
]
var registrySecrets = empty(registryServer) ? [] : [
  {
    name: 'registry-password'
    value: registryPassword
  }
]
var appSecrets = concat(registrySecrets, [
  {
    name: 'database-url'
    value: postgresUrl
  }
  {
    name: 'redis-url'
    value: redisUrl
  }
  {
    name: 'youtube-api-key'
    value: youtubeApiKey
  }
])
var commonEnv = [
  {
    name: 'DATABASE_URL'
    secretRef: 'database-url'
  }
  {
    name: 'REDIS_URL'
    secretRef: 'redis-url'
  }
  {
    name: 'YOUTUBE_API_KEY'
    secretRef: 'youtube-api-key'
  }
  {
    name: 'CHATTER_ANALYZER'
    value: 'auto'
  }
]

resource logs 'Microsoft.OperationalInsights/workspaces@2022-10-01' = {
  name: '${name}-logs'
  location: location
  properties: {
    sku: {
      name: 'PerGB2018'
    }
    retentionInDays: 30
  }
}

// TCP ingress (for Redis) needs an environment in a custom VNet.
resource vnet 'Microsoft.Network/virtualNetworks@2023-05-01' = {
  name: '${name}-vnet'
  location: location
  properties: {
    addressSpace: {
      addressPrefixes: [
        '10.40.0.0/16'
      ]
    }
    subnets: [
      {
        name: 'apps'
        properties: {
          addressPrefix: '10.40.0.0/23'
          delegations: [
            {
              name: 'containerapps'
              properties: {
                serviceName: 'Microsoft.App/environments'
              }
            }
          ]
        }
      }
    ]
  }
}

resource env 'Microsoft.App/managedEnvironments@2024-03-01' = {
  name: '${name}-env'
  location: location
  properties: {
    appLogsConfiguration: {
      destination: 'log-analytics'
      logAnalyticsConfiguration: {
        customerId: logs.properties.customerId
        sharedKey: logs.listKeys().primarySharedKey
      }
    }
    vnetConfiguration: {
      infrastructureSubnetId: vnet.properties.subnets[0].id
      internal: false
    }
    workloadProfiles: [
      {
        name: 'Consumption'
        workloadProfileType: 'Consumption'
      }
    ]
  }
}

resource redis 'Microsoft.App/containerApps@2024-03-01' = {
  name: redisApp
  location: location
  properties: {
    environmentId: env.id
    workloadProfileName: 'Consumption'
    configuration: {
      secrets: [
        {
          name: 'redis-password'
          value: redisPassword
        }
      ]
      ingress: {
        external: false
        transport: 'tcp'
        targetPort: 6379
        exposedPort: 6379
      }
    }
    template: {
      containers: [
        {
          name: 'redis'
          image: 'docker.io/library/redis:7-bookworm'
          command: [
            'sh'
            '-c'
            'exec redis-server --requirepass "$REDIS_PASSWORD" --appendonly yes --save ""'
          ]
          env: [
            {
              name: 'REDIS_PASSWORD'
              secretRef: 'redis-password'
            }
          ]
          resources: {
            cpu: json('0.5')
            memory: '1Gi'
          }
        }
      ]
      scale: {
        minReplicas: 1
        maxReplicas: 1 // one broker: the stream and its consumer group live in one server
      }
    }
  }
}

resource serve 'Microsoft.App/containerApps@2024-03-01' = {
  name: '${name}-serve'
  location: location
  properties: {
    environmentId: env.id
    workloadProfileName: 'Consumption'
    configuration: {
      secrets: appSecrets
      registries: registries
      ingress: {
        external: true
        targetPort: 8080
        transport: 'auto'
        allowInsecure: false
      }
    }
    template: {
      containers: [
        {
          name: 'serve'
          image: image
          args: [
            'serve'
            '--no-workers'
          ]
          env: concat(commonEnv, [
            {
              name: 'CHATTER_LISTEN'
              value: '0.0.0.0:8080'
            }
            {
              name: 'OIDC_ISSUER'
              value: oidcIssuer
            }
            {
              name: 'OIDC_AUDIENCE'
              value: oidcAudience
            }
          ])
          resources: {
            cpu: json('1.0')
            memory: '2Gi'
          }
          probes: [
            {
              type: 'Liveness'
              httpGet: {
                path: '/healthz'
                port: 8080
              }
              periodSeconds: 10
            }
            {
              type: 'Readiness'
              httpGet: {
                path: '/readyz'
                port: 8080
              }
              periodSeconds: 5
            }
          ]
        }
      ]
      scale: {
        minReplicas: serveMinReplicas
        maxReplicas: serveMaxReplicas
        rules: [
          {
            name: 'http'
            http: {
              metadata: {
                concurrentRequests: '200'
              }
            }
          }
        ]
      }
    }
  }
  dependsOn: [
    redis
  ]
}

resource worker 'Microsoft.App/containerApps@2024-03-01' = {
  name: '${name}-worker'
  location: location
  properties: {
    environmentId: env.id
    workloadProfileName: 'Consumption'
    configuration: {
      secrets: concat(appSecrets, [
        {
          name: 'redis-password'
          value: redisPassword
        }
      ])
      registries: registries
    }
    template: {
      // SIGTERM starts the drain: in-flight posts get --grace 30 s, then go back to the queue.
      terminationGracePeriodSeconds: 60
      containers: [
        {
          name: 'worker'
          image: image
          args: [
            'worker'
            '--concurrency'
            string(workerConcurrency)
            '--grace'
            '30'
          ]
          env: commonEnv
          resources: {
            cpu: json('2.0')
            memory: '4Gi'
          }
        }
      ]
      scale: {
        minReplicas: workerMinReplicas
        maxReplicas: workerMaxReplicas
        rules: [
          {
            // Acked entries are deleted, so the stream's length is the outstanding work
            // (queued + in flight); messages waiting for a retry sit in a sorted set beside it.
            name: 'redis-stream'
            custom: {
              type: 'redis-streams'
              metadata: {
                address: '${redisApp}:6379'
                stream: 'chatter:queue'
                consumerGroup: 'workers'
                streamLength: string(messagesPerWorker)
              }
              auth: [
                {
                  secretRef: 'redis-password'
                  triggerParameter: 'password'
                }
              ]
            }
          }
        ]
      }
    }
  }
  dependsOn: [
    redis
  ]
}

resource sweep 'Microsoft.App/jobs@2024-03-01' = {
  name: '${name}-sweep'
  location: location
  properties: {
    environmentId: env.id
    workloadProfileName: 'Consumption'
    configuration: {
      triggerType: 'Schedule'
      scheduleTriggerConfig: {
        cronExpression: '*/10 * * * *'
        parallelism: 1
        replicaCompletionCount: 1
      }
      replicaTimeout: 600
      replicaRetryLimit: 1
      secrets: appSecrets
      registries: registries
    }
    template: {
      containers: [
        {
          name: 'sweep'
          image: image
          args: [
            'sweep'
            '--json'
          ]
          env: concat(commonEnv, [
            {
              name: 'CHATTER_RETENTION_DAYS'
              value: string(retentionDays)
            }
          ])
          resources: {
            cpu: json('0.25')
            memory: '0.5Gi'
          }
        }
      ]
    }
  }
  dependsOn: [
    redis
  ]
}

output url string = 'https://${serve.properties.configuration.ingress.fqdn}'
