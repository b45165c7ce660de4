import { useState } from "react";
import { useQueryClient } from "@tanstack/react-query";
import { RouterProvider } from "@tanstack/react-router";
import { createAppRouter } from "./routes";

/** The dashboard: the route tree (routes.tsx) on the browser's history, sharing the app's QueryClient. */
export function App() {
  const queryClient = useQueryClient();
  const [router] = useState(() => createAppRouter(queryClient));
  return <RouterProvider router={router} />;
}
