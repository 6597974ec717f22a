// The device map (Leaflet, served by this server): one dot per device with coordinates, green when online.
// Tiles come from the configured URL template (data-tiles); without one the dots show on a plain background, which
// is enough to see where loudspeakers are silent on a closed provincial network.

const ONLINE = "#1e6b34";
const OFFLINE = "#9a3412";
const VIETNAM = [16.0, 106.0];

function note(box, text) {
  const target = box.parentElement.querySelector("[data-map-note]");
  if (target) target.textContent = text;
}

function popup(point) {
  const wrap = document.createElement("div");
  const link = document.createElement("a");
  link.href = point.url;
  link.textContent = point.name;
  const state = document.createElement("div");
  state.textContent = `${point.id} · ${point.state_text || (point.online ? "trực tuyến" : "mất kết nối")}`;
  wrap.append(link, state);
  return wrap;
}

async function draw(box) {
  const L = window.L;
  if (!L) return;
  const tiles = box.dataset.tiles;
  box.replaceChildren();
  const map = L.map(box, { zoomControl: false, attributionControl: Boolean(tiles) });
  L.control.zoom({ zoomInTitle: "Phóng to", zoomOutTitle: "Thu nhỏ" }).addTo(map);
  if (tiles) {
    map.attributionControl.setPrefix(false);
    L.tileLayer(tiles, { maxZoom: 19, attribution: box.dataset.attribution || "" }).addTo(map);
  }
  map.setView(VIETNAM, 5);
  let data;
  try {
    const response = await fetch(box.dataset.points, { headers: { Accept: "application/json" } });
    if (!response.ok) throw new Error(String(response.status));
    data = await response.json();
  } catch {
    note(box, "Không tải được vị trí thiết bị; hãy tải lại trang.");
    return;
  }
  const dots = data.points.map((point) =>
    L.circleMarker([point.lat, point.lon], {
      radius: 8, weight: 2, color: "#ffffff", fillOpacity: 0.9, fillColor: point.colour || (point.online ? ONLINE : OFFLINE),
    }).bindPopup(popup(point)).bindTooltip(point.name));
  if (dots.length) {
    const group = L.featureGroup(dots).addTo(map);
    map.fitBounds(group.getBounds(), { padding: [24, 24], maxZoom: 15 });
  }
  const parts = [`${dots.length} thiết bị trên bản đồ (${data.legend || "xanh: trực tuyến, cam: mất kết nối"}).`];
  if (data.without_location) parts.push(`${data.without_location} thiết bị chưa có tọa độ nên chỉ có trong danh sách.`);
  if (data.truncated) parts.push("Chỉ hiện một phần: hãy lọc theo địa bàn để xem đủ.");
  if (!tiles) parts.push("Chưa cấu hình nền bản đồ: các điểm hiện trên nền trơn theo tọa độ.");
  note(box, parts.join(" "));
}

document.querySelectorAll("[data-map]").forEach((box) => { draw(box); });
