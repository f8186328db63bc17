export const WorkerModelServer = { start: async (_o: unknown): Promise<never> => { throw new Error('todo'); } };
