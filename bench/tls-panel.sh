# Shared by bench/tls-agreement.sh and bench/tls-vs-peers.sh (sourced, not run): makes a
# throw-away PKI with openssl and starts the panel of misconfigured TLS servers on
# 127.63.5.x, port 4433. Needs: openssl, nginx (Debian nginx-light).
# After sourcing: $work (directory), PANEL (names), address_of NAME, stop_panel.

work=$(mktemp -d)
pids=()
stop_panel() {
  for pid in "${pids[@]}"; do kill "$pid" 2>/dev/null || true; done
  wait 2>/dev/null || true
  rm -rf "$work"
}

(
  cd "$work"
  openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout ca.key -out ca.pem \
    -days 365 -subj "/CN=panel CA" -addext basicConstraints=critical,CA:TRUE \
    -addext keyUsage=keyCertSign,cRLSign 2>/dev/null
  leaf() { # name san keyspec md
    openssl req -new -newkey "$3" -nodes -keyout "$1.key" -out "$1.csr" -subj "/CN=$2" 2>/dev/null
    printf 'subjectAltName=IP:%s\nbasicConstraints=CA:FALSE\nkeyUsage=digitalSignature,keyEncipherment\nextendedKeyUsage=serverAuth\n' "$2" > "$1.ext"
    openssl x509 -req -in "$1.csr" -CA ca.pem -CAkey ca.key -CAcreateserial -days 30 "-$4" -extfile "$1.ext" -out "$1.pem" 2>/dev/null
  }
  leaf good 127.63.5.1 ec:<(openssl ecparam -name prime256v1) sha256
  leaf legacy 127.63.5.2 rsa:1024 sha1
  leaf wrongname 127.63.9.9 ec:<(openssl ecparam -name prime256v1) sha256
  leaf nginx 127.63.5.6 rsa:1024 sha1
  # Expired: openssl ca is the one command of OpenSSL 3.0 that sets arbitrary dates.
  printf '[ca]\ndefault_ca=d\n[d]\ndatabase=index.txt\nnew_certs_dir=.\nserial=serial\npolicy=p\ncopy_extensions=copy\n[p]\ncommonName=supplied\n' > ca.cnf
  : > index.txt; echo 01 > serial
  openssl req -new -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout expired.key -out expired.csr \
    -subj "/CN=127.63.5.3" -addext subjectAltName=IP:127.63.5.3 -addext extendedKeyUsage=serverAuth 2>/dev/null
  openssl ca -batch -config ca.cnf -cert ca.pem -keyfile ca.key -in expired.csr -out expired.pem \
    -startdate 20240101000000Z -enddate 20240301000000Z -md sha256 -notext 2>/dev/null
  openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout selfsigned.key -out selfsigned.pem \
    -days 30 -subj "/CN=127.63.5.4" -addext subjectAltName=IP:127.63.5.4 2>/dev/null
)

serve() { # address name extra...
  local address=$1 name=$2; shift 2
  (cd "$work" && exec openssl s_server -accept "$address:4433" -cert "$name.pem" -key "$name.key" -www -quiet "$@" >/dev/null 2>&1) &
  pids+=($!)
}
serve 127.63.5.1 good -cipher 'ECDHE+AESGCM'
serve 127.63.5.2 legacy -cipher 'ALL:@SECLEVEL=0' -min_protocol TLSv1
serve 127.63.5.3 expired
serve 127.63.5.4 selfsigned
serve 127.63.5.5 wrongname
cat > "$work/nginx.conf" <<CONF
daemon off; master_process off; worker_processes 1; pid $work/nginx.pid; error_log $work/error.log;
events { worker_connections 256; }
http { access_log off; client_body_temp_path $work; proxy_temp_path $work; fastcgi_temp_path $work;
  uwsgi_temp_path $work; scgi_temp_path $work;
  server { listen 127.63.5.6:4433 ssl; ssl_certificate $work/nginx.pem; ssl_certificate_key $work/nginx.key;
    ssl_protocols TLSv1 TLSv1.1 TLSv1.2;
    ssl_ciphers 'AES128-SHA:NULL-SHA:DES-CBC3-SHA:ECDHE-RSA-AES128-GCM-SHA256:@SECLEVEL=0';
    ssl_prefer_server_ciphers off; return 200 ok; } }
CONF
/usr/sbin/nginx -c "$work/nginx.conf" -e "$work/error.log" &
pids+=($!)

PANEL="good legacy expired selfsigned wrongname nginx"
address_of() {
  case $1 in
    good) echo 127.63.5.1 ;; legacy) echo 127.63.5.2 ;; expired) echo 127.63.5.3 ;;
    selfsigned) echo 127.63.5.4 ;; wrongname) echo 127.63.5.5 ;; nginx) echo 127.63.5.6 ;;
  esac
}
for name in $PANEL; do
  for _ in $(seq 100); do
    (exec 3<>"/dev/tcp/$(address_of "$name")/4433") 2>/dev/null && break
    sleep 0.05
  done
done
