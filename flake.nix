{
  description = "gen: typed deployment profiles compiled into reproducible, hashed host configuration";

  inputs = {
    nixpkgs.url = "github:NixOS/nixpkgs/nixos-24.11";
    flake-utils.url = "github:numtide/flake-utils";
  };

  outputs = { self, nixpkgs, flake-utils }:
    flake-utils.lib.eachDefaultSystem (system:
      let
        pkgs = nixpkgs.legacyPackages.${system};
        cargoToml = builtins.fromTOML (builtins.readFile ./Cargo.toml);

        gen = pkgs.rustPlatform.buildRustPackage {
          pname = "gen";
          version = cargoToml.workspace.package.version;
          src = pkgs.lib.cleanSource ./.;
          cargoLock.lockFile = ./Cargo.lock;
          # The test suite runs the real validators; inside the sandbox only
          # the unit and build tests run (the validator tests skip themselves
          # when a program is missing unless GEN_CHECK_STRICT is set).
          nativeCheckInputs = [ pkgs.nginx pkgs.postgresql_15 pkgs.pgbouncer pkgs.prometheus pkgs.shellcheck ];
          meta = {
            description = cargoToml.package.description;
            mainProgram = "gen";
          };
        };

        # The generated tree of one profile as a derivation: the same bytes as
        # `gen build --profile NAME` writes to generated/NAME.
        generatedTree = profile: pkgs.runCommand "gen-${profile}" { nativeBuildInputs = [ gen ]; } ''
          cp -r ${./profiles} profiles
          gen build --profile ${profile} --out "$out"
        '';
      in
      {
        packages = {
          default = gen;
          gen = gen;
          pilot = generatedTree "pilot";
          production = generatedTree "production";
          ha = generatedTree "ha";
        };

        lib.generatedTree = generatedTree;

        checks = {
          tests = gen;
          golden = pkgs.runCommand "gen-golden" { nativeBuildInputs = [ gen ]; } ''
            cp -r ${./profiles} profiles
            cp -r ${./generated} generated
            gen build --check
            touch "$out"
          '';
        };

        devShells.default = pkgs.mkShell {
          inputsFrom = [ gen ];
          packages = [ pkgs.cargo pkgs.rustc pkgs.clippy pkgs.rustfmt pkgs.cargo-insta pkgs.nginx pkgs.postgresql_15 pkgs.pgbouncer pkgs.prometheus pkgs.shellcheck pkgs.graphviz ];
        };
      });
}
