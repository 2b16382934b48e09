// The bench's baseline server (plain JavaScript, run with node): a bare Express app that parses a
// JSON body and answers it back, as /v1/evaluate parses one and answers its evaluation. PORT, HOST.
import express from 'express';

const app = express();
app.post('/echo', express.json(), (req, res) => {
  res.json(req.body);
});
app.get('/ready', (_req, res) => {
  res.end();
});
app.listen(Number(process.env.PORT), process.env.HOST ?? '127.0.0.1');
