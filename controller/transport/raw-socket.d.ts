// raw-socket 1.8.1 ships no types; RawSocketModule in raw-icmp-transport.ts describes the part we use.
declare module 'raw-socket';
