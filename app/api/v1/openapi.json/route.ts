// GET /api/v1/openapi.json — the API's description (public: it holds no data, only shapes).
import { jsonResponse } from "@/lib/api/json";
import { openApiDocument } from "@/lib/api/openapi/document";

export const dynamic = "force-dynamic";

export async function GET(): Promise<Response> {
  return jsonResponse(openApiDocument);
}
