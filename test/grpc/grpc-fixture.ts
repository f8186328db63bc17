// The server side of the gRPC tests: a LocalModelServer on cpu (no polling) serving gRPC on 127.0.0.1,
// and a client of it (client.ts, built independently of src/grpc).
import { LocalModelServer } from '../../src/node.js';
import type { ModelConfig } from '../../src/node.js';
import type { GrpcServer } from '../../src/grpc/grpc-server.js';
import { startGrpcServer } from '../../src/grpc/grpc-server.js';
import type { ServingClient } from './client.js';
import { servingClient } from './client.js';

export interface GrpcFixture {
  server: LocalModelServer;
  grpcServer: GrpcServer;
  client: ServingClient;
  /** Closes the client, the gRPC server and the model server. */
  close(): Promise<void>;
}

export async function startGrpcFixture(modelConfigList: ModelConfig[]): Promise<GrpcFixture> {
  const server = await LocalModelServer.start({ modelConfigList, pollIntervalMs: 0, backends: ['cpu'] });
  const grpcServer = await startGrpcServer(server, { port: 0, host: '127.0.0.1' });
  const client = servingClient(grpcServer.port);
  return {
    server,
    grpcServer,
    client,
    async close() {
      client.close();
      await grpcServer.close();
      await server.close();
    },
  };
}
